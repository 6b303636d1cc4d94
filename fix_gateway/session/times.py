"""UTCTimestamp formatting (milliseconds) and parsing, cached per second / per day."""

from __future__ import annotations

import calendar
import time

_NS = 1_000_000_000
_sec_cache: list[object] = [-1, b""]
_ms_cache: list[object] = [-1, b""]
_day_cache: dict[bytes, int] = {}
_last_second: list[object] = [b"", 0]


def format_utc(ns: int) -> bytes:
    """``YYYYMMDD-HH:MM:SS.sss`` for a time in ns since the epoch (the last one is kept:
    every message of one millisecond shares it)."""
    ms = ns // 1_000_000
    if _ms_cache[0] == ms:
        return _ms_cache[1]  # type: ignore[return-value]
    sec, rem = divmod(ms, 1000)
    if _sec_cache[0] != sec:
        _sec_cache[0] = sec
        _sec_cache[1] = time.strftime("%Y%m%d-%H:%M:%S", time.gmtime(sec)).encode()
    text = b"%s.%03d" % (_sec_cache[1], rem)
    _ms_cache[0], _ms_cache[1] = ms, text
    return text


def parse_utc(value: bytes) -> int | None:
    """ns since the epoch for ``YYYYMMDD-HH:MM:SS[.fff...]``; None if malformed."""
    head = value[:17]
    if head == _last_second[0]:
        if len(value) == 17:
            return _last_second[1]  # type: ignore[return-value]
        f = value[18:]
        if value[17:18] == b"." and f.isdigit() and len(f) <= 9:
            return _last_second[1] + int(f) * 10 ** (9 - len(f))  # type: ignore[operator]
        return None
    result = _parse_slow(value)
    if result is not None:
        _last_second[0] = head
        _last_second[1] = result - result % _NS
    return result


def _parse_slow(value: bytes) -> int | None:
    if len(value) < 17 or value[8:9] != b"-" or value[11:12] != b":" or value[14:15] != b":":
        return None
    day = value[:8]
    base = _day_cache.get(day)
    if base is None:
        if not day.isdigit():
            return None
        y, mo, d = int(day[:4]), int(day[4:6]), int(day[6:8])
        if not (1 <= mo <= 12 and 1 <= d <= 31):
            return None
        try:
            base = (
                calendar.timegm((y, mo, d, 0, 0, 0)) if d <= calendar.monthrange(y, mo)[1] else None
            )
        except (ValueError, OverflowError):
            base = None
        if base is None:
            return None
        if len(_day_cache) > 64:
            _day_cache.clear()
        _day_cache[day] = base
    hh, mm, ss = value[9:11], value[12:14], value[15:17]
    if not (hh.isdigit() and mm.isdigit() and ss.isdigit()):
        return None
    h, m, s = int(hh), int(mm), int(ss)
    if h > 23 or m > 59 or s > 60:
        return None
    frac = 0
    if len(value) > 17:
        f = value[18:]
        if value[17:18] != b"." or not f.isdigit() or len(f) > 9:
            return None
        frac = int(f) * 10 ** (9 - len(f))
    return (base + h * 3600 + m * 60 + s) * _NS + frac


__all__ = ["format_utc", "parse_utc"]
