from pathlib import Path

import pytest

from venue.config import ConfigError, load_config

DEMO = Path(__file__).parents[3] / "config" / "demo.toml"


def test_demo_config_loads_with_every_section() -> None:
    config = load_config(DEMO, env={})
    assert {i.symbol for i in config.instruments} == {"BTC-USD", "ETH-USD"}
    assert {f.id for f in config.firms} == {"ALPHA", "BETA"}
    assert config.bus.url == ""  # embedded by default


def test_defaults_without_a_file() -> None:
    config = load_config(None, env={})
    assert config.bus.command_stream == "VENUE_CMD"
    assert config.bus.event_stream == "VENUE_EVT"
    assert config.venue.data_dir == "./var"


def test_the_embedded_port_is_not_taken_when_nats_is_elsewhere(tmp_path: Path) -> None:
    path = tmp_path / "venue.toml"
    path.write_text("[bus]\nembedded_port = 9878\n")  # the FIX port: no embedded server, no clash
    assert load_config(path, env={"VENUE_NATS_URL": "nats://bus:4222"}).bus.embedded_port == 9878


def test_environment_overrides_the_file() -> None:
    config = load_config(
        DEMO,
        env={
            "VENUE_DATA_DIR": "/srv/venue",
            "VENUE_NATS_URL": "nats://bus:4222",
            "VENUE_DATABASE_URL": "postgresql://db/venue",
        },
    )
    assert config.data_dir == Path("/srv/venue")
    assert config.bus.url == "nats://bus:4222"
    assert config.database.url == "postgresql://db/venue"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[bus]\nurll = 'x'\n", "unknown field"),
        ("[bus\n", "not valid TOML"),
        ("[bus]\nembedded_port = 'x'\n", "Expected `int`"),
        ("[bus]\nembedded_port = 70000\n", "not a TCP port"),
        ("[metrics]\nport = -1\n", "not a TCP port"),
        ("[[instruments]]\nsymbol='X'\nbase='A'\nquote='B'\ntick_size='1'\nlot_size='1'\n", "not declared"),
        (
            "[[assets]]\ncode='A'\n[[assets]]\ncode='B'\n[[instruments]]\nsymbol='X'\nbase='A'\n"
            "quote='B'\ntick_size='-1'\nlot_size='1'\n",
            "must be positive",
        ),
        ("[[accounts]]\nid='A-1'\nfirm='NOPE'\n", "firm 'NOPE' is not declared"),
        ("[[firms]]\nid='F'\n[[users]]\nusername='u'\nfirm='F'\n", "password"),
        ("[writer]\nbatch_wait_ms = 0\n", "writer.batch_wait_ms must be in (0, 10000]"),
        ("[fix]\nstore_memory_messages = 0\n", "fix.store_memory_messages must be at least 1"),
        ("[bus]\nembedded_gomaxprocs = -1\n", "bus.embedded_gomaxprocs must be 0"),
        ("[bus]\nwrite_nap_us = 5000\n", "bus.write_nap_us must be in [0, 2000]"),
        ("[bus]\nwrite_nap_us = -1\n", "bus.write_nap_us must be in [0, 2000]"),
        ("[engine]\nsession_end_utc = '24:00'\n", "engine.session_end_utc = '24:00' is not a time of day"),
        ("[engine]\nsession_end_utc = '9:30'\n", "is not a time of day HH:MM"),
        ("[fix]\nport = 9464\n", "fix.port and metrics.port are both 9464: each needs a port of its own"),
        ("[bus]\nembedded_port = 9878\n", "fix.port and bus.embedded_port are both 9878"),
    ],
)
def test_bad_config_is_one_clear_line(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "venue.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    message = str(info.value)
    assert needle in message
    assert "\n" not in message


def test_missing_file_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found: pass an existing file"):
        load_config(tmp_path / "nope.toml", env={})


def test_writer_and_store_memory_keys(tmp_path: Path) -> None:
    path = tmp_path / "venue.toml"
    path.write_text("[writer]\nbatch_wait_ms = 20\n[fix]\nstore_memory_messages = 5000\n")
    config = load_config(path, env={})
    assert (config.writer.batch_wait_ms, config.fix.store_memory_messages) == (20.0, 5000)
    assert (load_config(None, env={}).writer.batch_wait_ms) == 100.0


def test_session_end_key(tmp_path: Path) -> None:
    import datetime

    from venue.config import session_end_time

    path = tmp_path / "venue.toml"
    path.write_text("[engine]\nsession_end_utc = '21:30'\n")
    assert load_config(path, env={}).engine.session_end_utc == "21:30"
    assert session_end_time("21:30") == datetime.time(21, 30)
    assert load_config(None, env={}).engine.session_end_utc == "00:00"
    path.write_text("[engine]\nsession_end_utc = ''\n")  # never
    assert load_config(path, env={}).engine.session_end_utc == ""


def test_embedded_nats_gets_its_gomaxprocs(tmp_path: Path) -> None:
    from venue.embedded import EmbeddedNats

    assert load_config(None, env={}).bus.embedded_gomaxprocs == 1
    assert EmbeddedNats(tmp_path, 1, gomaxprocs=1)._env()["GOMAXPROCS"] == "1"
    assert "GOMAXPROCS" not in EmbeddedNats(tmp_path, 1, gomaxprocs=0)._env()


def test_embedded_nats_sysmon_polls_through_godebug(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from venue.embedded import SCHEDTRACE_NEVER, EmbeddedNats

    monkeypatch.delenv("GODEBUG", raising=False)
    assert EmbeddedNats(tmp_path, 1)._env()["GODEBUG"] == f"schedtrace={SCHEDTRACE_NEVER}"
    assert "GODEBUG" not in EmbeddedNats(tmp_path, 1, sysmon_polls=False)._env()
    monkeypatch.setenv("GODEBUG", "madvdontneed=1")  # an operator's settings are kept
    assert EmbeddedNats(tmp_path, 1)._env()["GODEBUG"] == f"madvdontneed=1,schedtrace={SCHEDTRACE_NEVER}"
    monkeypatch.setenv("GODEBUG", "schedtrace=1000")  # and their own schedtrace wins
    assert EmbeddedNats(tmp_path, 1)._env()["GODEBUG"] == "schedtrace=1000"
    assert load_config(DEMO, env={}).bus.embedded_sysmon_polls is True
