"""Typed, frozen configuration loaded from one TOML file.

Every key is documented in docs/configuration.md. Unknown keys are errors (a typo must not
silently fall back to a default). Environment variables override the file for the three
things that differ per machine: ``VENUE_DATA_DIR``, ``VENUE_NATS_URL``,
``VENUE_DATABASE_URL``.
"""

from __future__ import annotations

import datetime
import os
import tomllib
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Literal

import msgspec

from venue.fixedpoint import NotANumber, parse_decimal
from venue.ids import OPERATOR_ID


def session_end_time(text: str) -> datetime.time | None:
    """``"HH:MM"`` as a time of day (UTC by convention); None when it is not one."""
    hours, sep, minutes = text.partition(":")
    if not sep or len(hours) != 2 or len(minutes) != 2 or not (hours + minutes).isdigit():
        return None
    if int(hours) > 23 or int(minutes) > 59:
        return None
    return datetime.time(int(hours), int(minutes))


class ConfigError(Exception):
    """A configuration problem, phrased as one line naming the problem and the fix."""


class _Section(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    pass


class GeneralConfig(_Section, frozen=True, forbid_unknown_fields=True, kw_only=True):
    data_dir: str = "./var"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["console", "json"] = "console"


class BusConfig(_Section, frozen=True, forbid_unknown_fields=True, kw_only=True):
    url: str = ""
    embedded_port: int = 14222
    # Go threads running the embedded nats-server's code at once (GOMAXPROCS); 0: one per CPU
    embedded_gomaxprocs: int = 1
    # keep the embedded server's Go system monitor polling instead of deep-sleeping whenever the
    # server idles (venue.embedded.EmbeddedNats.sysmon_polls)
    embedded_sysmon_polls: bool = True
    command_stream: str = "VENUE_CMD"
    event_stream: str = "VENUE_EVT"
    subject_prefix: str = "venue"
    storage: Literal["file", "memory"] = "file"
    duplicate_window_s: float = 120.0
    connect_timeout_s: float = 5.0
    # After a turn's publishes are written, the process sleeps this long before its event loop
    # looks for input again: the server's replies (and a gateway's next orders) are then read
    # in one go instead of each waking the process from another CPU (TurnWriter). 0: off.
    write_nap_us: float = 100.0


class DatabaseConfig(_Section, frozen=True, forbid_unknown_fields=True, kw_only=True):
    url: str = ""
    pool_min: int = 1
    pool_max: int = 8
    connect_timeout_s: float = 5.0


class EngineConfig(_Section, frozen=True, forbid_unknown_fields=True, kw_only=True):
    shard: str = "0"
    snapshot_every: int = 100_000
    snapshot_interval_s: float = 60.0
    keep_snapshots: int = 3
    # The engine asks JetStream to acknowledge an event publish at most this often (and after
    # a quiet spell); the publishes between are chained by message id, so an acknowledged one
    # vouches for them. 0: every publish is acknowledged.
    event_ack_interval_ms: float = 20.0
    # UTC time of day at which the trading day ends: DAY orders expire (EndOfSession) and the
    # gateways forget the day's finished orders. "" = never.
    session_end_utc: str = "00:00"
    # Run the engine inside the FIX gateway's process instead of as a service of its own:
    # the gateway answers its clients from the engine's answers as they are published, two
    # process crossings fewer per order (docs/architecture.md, "The engine in the gateway").
    # Ignored without FIX sessions (no gateway: the engine runs as a service).
    in_gateway: bool = True


class FixSessionEntry(_Section, frozen=True, forbid_unknown_fields=True, kw_only=True):
    begin_string: Literal["FIX.4.4", "FIXT.1.1"]
    target_comp_id: str
    sender_comp_id: str = "VENUE"
    default_appl_ver_id: str = "9"
    username: str = ""
    accounts: tuple[str, ...] = ()
    stp_mode: int = 1
    cancel_on_disconnect: bool = True
    reset_on_logon: bool = False
    heartbeat_min: int = 1
    heartbeat_max: int = 300
    max_msgs_per_sec: int = 0
    logon_timeout: float = 10.0


class FixConfig(_Section, frozen=True, forbid_unknown_fields=True, kw_only=True):
    host: str = "0.0.0.0"
    port: int = 9878
    gateway_id: int = 1
    store: Literal["postgres", "memory"] = "postgres"
    store_flush_ms: float = 25.0
    store_memory_messages: int = 200_000
    tls_cert: str = ""
    tls_key: str = ""
    max_batch: int = 1024
    sessions: tuple[FixSessionEntry, ...] = ()


class WriterConfig(_Section, frozen=True, forbid_unknown_fields=True, kw_only=True):
    batch_wait_ms: float = 100.0


class SchedulingConfig(_Section, frozen=True, forbid_unknown_fields=True, kw_only=True):
    # "realtime": the order path (embedded nats-server, gateway, engine service) under
    # SCHED_FIFO, ahead of everything else on the host (venue/scheduling.py); "normal": as
    # every other process.
    order_path: Literal["normal", "realtime"] = "normal"
    realtime_priority: int = 10

    @property
    def realtime(self) -> bool:
        return self.order_path == "realtime"


class MetricsConfig(_Section, frozen=True, forbid_unknown_fields=True, kw_only=True):
    host: str = "127.0.0.1"
    port: int = 9464


class AssetConfig(_Section, frozen=True, forbid_unknown_fields=True, kw_only=True):
    code: str
    decimals: int = 2


class InstrumentConfig(_Section, frozen=True, forbid_unknown_fields=True, kw_only=True):
    symbol: str
    base: str
    quote: str
    tick_size: str
    lot_size: str
    min_qty: str = "0"
    max_qty: str = "1000000"
    price_band_pct: str = "10"
    reference_price: str = "0"


class FirmConfig(_Section, frozen=True, forbid_unknown_fields=True, kw_only=True):
    id: str
    name: str = ""


class AccountConfig(_Section, frozen=True, forbid_unknown_fields=True, kw_only=True):
    id: str
    firm: str
    stp_group: str = ""
    maker_fee_bps: int = 0
    taker_fee_bps: int = 0
    deposits: dict[str, str] = {}


class UserConfig(_Section, frozen=True, forbid_unknown_fields=True, kw_only=True):
    username: str
    firm: str
    password: str = ""
    password_hash: str = ""
    role: Literal["trader", "broker", "operator"] = "trader"


class Config(_Section, frozen=True, forbid_unknown_fields=True, kw_only=True):
    venue: GeneralConfig = GeneralConfig()
    bus: BusConfig = BusConfig()
    database: DatabaseConfig = DatabaseConfig()
    engine: EngineConfig = EngineConfig()
    fix: FixConfig = FixConfig()
    writer: WriterConfig = WriterConfig()
    scheduling: SchedulingConfig = SchedulingConfig()
    metrics: MetricsConfig = MetricsConfig()
    assets: tuple[AssetConfig, ...] = ()
    instruments: tuple[InstrumentConfig, ...] = ()
    firms: tuple[FirmConfig, ...] = ()
    accounts: tuple[AccountConfig, ...] = ()
    users: tuple[UserConfig, ...] = ()

    @property
    def data_dir(self) -> Path:
        return Path(self.venue.data_dir).expanduser().resolve()


def load_config(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Load and validate the config file (or the defaults), then apply env overrides."""
    env = os.environ if env is None else env
    raw: dict[str, object] = {}
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"config file {p} not found: pass an existing file to --config")
        try:
            raw = tomllib.loads(p.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {p} is not valid TOML ({exc}): fix the syntax") from None
    try:
        config = msgspec.convert(raw, Config, strict=True)
    except msgspec.ValidationError as exc:
        where = f" in {path}" if path else ""
        raise ConfigError(f"invalid configuration{where}: {exc}; see docs/configuration.md") from None
    config = _apply_env(config, env)
    _check(config)
    return config


def _apply_env(config: Config, env: Mapping[str, str]) -> Config:
    if env.get("VENUE_DATA_DIR"):
        config = msgspec.structs.replace(
            config, venue=msgspec.structs.replace(config.venue, data_dir=env["VENUE_DATA_DIR"])
        )
    if env.get("VENUE_NATS_URL"):
        config = msgspec.structs.replace(
            config, bus=msgspec.structs.replace(config.bus, url=env["VENUE_NATS_URL"])
        )
    if env.get("VENUE_DATABASE_URL"):
        config = msgspec.structs.replace(
            config,
            database=msgspec.structs.replace(config.database, url=env["VENUE_DATABASE_URL"]),
        )
    return config


def _positive_decimal(value: str, what: str) -> Decimal:
    try:
        d = parse_decimal(value)
    except NotANumber:
        raise ConfigError(f"{what} = {value!r} is not a decimal number") from None
    if d <= 0:
        raise ConfigError(f"{what} = {value!r} must be positive")
    return d


def _check(config: Config) -> None:
    """Cross-references the types alone cannot express."""
    if config.bus.embedded_gomaxprocs < 0:
        raise ConfigError("bus.embedded_gomaxprocs must be 0 (one per CPU) or more")
    if not 1 <= config.scheduling.realtime_priority <= 99:
        raise ConfigError("scheduling.realtime_priority must be in 1..99 (SCHED_FIFO priorities)")
    if not 0 <= config.bus.embedded_port < 65536:
        raise ConfigError(f"bus.embedded_port = {config.bus.embedded_port} is not a TCP port")
    if not 0 <= config.metrics.port < 65536:
        raise ConfigError(f"metrics.port = {config.metrics.port} is not a TCP port")
    assets = {a.code for a in config.assets}
    for inst in config.instruments:
        where = f"instruments[{inst.symbol}]"
        for leg in (inst.base, inst.quote):
            if leg not in assets:
                raise ConfigError(f"{where}: asset {leg!r} is not declared in [[assets]]")
        _positive_decimal(inst.tick_size, f"{where}.tick_size")
        _positive_decimal(inst.lot_size, f"{where}.lot_size")
        _positive_decimal(inst.price_band_pct, f"{where}.price_band_pct")
    if len({i.symbol for i in config.instruments}) != len(config.instruments):
        raise ConfigError("instruments: a symbol is declared twice")
    firms = {f.id for f in config.firms}
    for acct in config.accounts:
        if acct.firm not in firms:
            raise ConfigError(f"accounts[{acct.id}]: firm {acct.firm!r} is not declared in [[firms]]")
        for asset, amount in acct.deposits.items():
            if asset not in assets:
                raise ConfigError(f"accounts[{acct.id}].deposits: unknown asset {asset!r}")
            _positive_decimal(amount, f"accounts[{acct.id}].deposits.{asset}")
    accounts = {a.id: a for a in config.accounts}
    users = {u.username: u for u in config.users}
    if not 0 < config.fix.port < 65536:
        raise ConfigError(f"fix.port = {config.fix.port} is not a TCP port")
    listening = {"fix.port": config.fix.port, "metrics.port": config.metrics.port}
    if not config.bus.url:
        listening["bus.embedded_port"] = config.bus.embedded_port
    taken: dict[int, str] = {}
    for port_key, port in listening.items():
        if port and port in taken:
            raise ConfigError(f"{taken[port]} and {port_key} are both {port}: each needs a port of its own")
        taken[port] = port_key
    if not 0 <= config.fix.gateway_id < OPERATOR_ID:
        raise ConfigError(f"fix.gateway_id must be 0..{OPERATOR_ID - 1} ({OPERATOR_ID} is reserved for operator tools)")
    if not 0 <= config.bus.write_nap_us <= 2000:
        raise ConfigError("bus.write_nap_us must be in [0, 2000] (microseconds; 0: off)")
    if not 0 < config.fix.store_flush_ms <= 1000:
        raise ConfigError("fix.store_flush_ms must be in (0, 1000]")
    if config.fix.store_memory_messages < 1:
        raise ConfigError("fix.store_memory_messages must be at least 1")
    if config.engine.session_end_utc and session_end_time(config.engine.session_end_utc) is None:
        raise ConfigError(
            f"engine.session_end_utc = {config.engine.session_end_utc!r} is not a time of day HH:MM (UTC), or \"\""
        )
    if not 0 <= config.engine.event_ack_interval_ms <= 1000:
        raise ConfigError("engine.event_ack_interval_ms must be in [0, 1000]")
    if not 0 < config.writer.batch_wait_ms <= 10_000:
        raise ConfigError("writer.batch_wait_ms must be in (0, 10000]")
    if bool(config.fix.tls_cert) != bool(config.fix.tls_key):
        raise ConfigError("fix.tls_cert and fix.tls_key go together: set both or neither")
    seen: set[tuple[str, str, str]] = set()
    for sess in config.fix.sessions:
        where = f"fix.sessions[{sess.target_comp_id}]"
        key = (sess.begin_string, sess.sender_comp_id, sess.target_comp_id)
        if key in seen:
            raise ConfigError(f"{where}: the session {key} is declared twice")
        seen.add(key)
        if not sess.accounts:
            raise ConfigError(f"{where}: list the accounts the session may trade (accounts = [...])")
        for code in sess.accounts:
            if code not in accounts:
                raise ConfigError(f"{where}: account {code!r} is not declared in [[accounts]]")
        if sess.username and sess.username not in users:
            raise ConfigError(f"{where}: user {sess.username!r} is not declared in [[users]]")
        if sess.username and any(accounts[a].firm != users[sess.username].firm for a in sess.accounts):
            raise ConfigError(f"{where}: every account must belong to the firm of user {sess.username!r}")
        if not 0 <= sess.stp_mode <= 4:
            raise ConfigError(f"{where}.stp_mode must be 0..4 (docs/engine.md)")
    for user in config.users:
        if user.firm not in firms:
            raise ConfigError(f"users[{user.username}]: firm {user.firm!r} is not declared in [[firms]]")
        if not (user.password or user.password_hash):
            raise ConfigError(f"users[{user.username}]: set password or password_hash")
