"""Pure-Python reference implementation of the codec primitives (same semantics as
_codec.c; used when the extension is missing or VENUE_FIX_PURE=1, and as the oracle in
the differential fuzz tests)."""

from __future__ import annotations

from array import array

from fix_gateway._spec_tags import DATA_TAGS, LENGTH_TAGS

SOH = b"\x01"


class GarbledMessage(ValueError):
    """The frame is not a well-formed FIX message (dropped silently by the session)."""


def py_checksum(data: bytes | bytearray | memoryview) -> int:
    return sum(data) & 0xFF


def py_split(frame: bytes) -> list[tuple[int, bytes]]:
    n = len(frame)
    if n < 20 or not frame.startswith(b"8="):
        raise GarbledMessage("first field is not BeginString(8)")
    if frame[-1] != 1:
        raise GarbledMessage("frame does not end with SOH")
    if frame[-8:-4] != b"\x0110=":
        raise GarbledMessage("last field is not CheckSum(10)")
    trailer = n - 7
    ck = frame[trailer + 3 : trailer + 6]
    if not ck.isdigit():
        raise GarbledMessage("CheckSum is not three digits")
    if sum(frame[:trailer]) & 0xFF != int(ck):
        raise GarbledMessage("CheckSum mismatch")
    out: list[tuple[int, bytes]] = []
    i = 0
    prev_len = -1
    find = frame.find
    while i < n:
        eq = find(b"=", i)
        if eq < 0:
            raise GarbledMessage("malformed field")
        t = frame[i:eq]
        body = t[1:] if t[:1] == b"-" else t
        if not body or not body.isdigit() or len(body) > 9:
            raise GarbledMessage("malformed field")
        tag = int(t)
        vs = eq + 1
        if prev_len >= 0 and tag in DATA_TAGS and vs + prev_len < n and frame[vs + prev_len] == 1:
            ve = vs + prev_len
        else:
            ve = find(SOH, vs)
            if ve < 0:
                raise GarbledMessage("field without SOH")
        k = len(out)
        if k == 0 and tag != 8:
            raise GarbledMessage("first field is not BeginString(8)")
        if k == 1:
            if tag != 9:
                raise GarbledMessage("second field is not BodyLength(9)")
            bl = frame[vs:ve]
            if not bl.isdigit() or len(bl) > 9 or int(bl) != trailer - (ve + 1):
                raise GarbledMessage("BodyLength mismatch")
        if k == 2 and tag != 35:
            raise GarbledMessage("third field is not MsgType(35)")
        value = frame[vs:ve]
        is_len = tag in LENGTH_TAGS and value.isdigit() and len(value) < 10
        prev_len = int(value) if is_len else -1
        out.append((tag, value))
        i = ve + 1
    if len(out) < 4:
        raise GarbledMessage("too few fields")
    return out


def py_frame_end(buf: bytes | bytearray, start: int, max_size: int) -> tuple[int, int]:
    """See _codec.c: (0 need more | 1 frame | 2 garbled frame | 3 skip-to, end)."""
    n = len(buf)
    soh = buf.find(SOH, start)
    if soh < 0:
        return (3, start + 2) if n - start > 64 else (0, 0)
    i = soh + 1
    if i + 2 > n:
        return 0, 0
    if buf[i : i + 2] != b"9=":
        return 3, start + 2
    k = i + 2
    digits = 0
    bl = 0
    while k < n and 48 <= buf[k] <= 57 and digits < 10:
        bl = bl * 10 + buf[k] - 48
        k += 1
        digits += 1
    if k >= n:
        return (0, 0) if digits < 10 else (3, start + 2)
    if buf[k] != 1 or digits == 0:
        return 3, start + 2
    body = k + 1
    if bl > max_size:
        return 3, start + 2
    tr = body + bl
    if tr + 7 <= n and buf[tr : tr + 3] == b"10=" and buf[tr + 6] == 1 and buf[tr - 1] == 1:
        return 1, tr + 7
    j = body - 1
    while j + 4 <= n:
        j = buf.find(SOH, j)
        if j < 0:
            break
        if j + 6 <= n and buf[j + 1 : j + 6] == b"8=FIX":
            return 2, j + 1
        if j + 4 <= n and buf[j + 1 : j + 4] == b"10=":
            e = buf.find(SOH, j + 4)
            if e < 0:
                break
            if tr + 7 <= n or e + 1 < tr:
                return 2, e + 1
            break
        j += 1
    if n - start > max_size + 64:
        return 3, start + 2
    return 0, 0


def py_split_shape(frame: bytes) -> tuple[list[tuple[int, bytes]], bytes]:
    fields = py_split(frame)
    return fields, shape_of(fields)


def shape_of(fields: list[tuple[int, bytes]]) -> bytes:
    """The tags packed as int32 (what the C splitter returns as the shape)."""
    return array("i", [t for t, _ in fields]).tobytes()


# ----------------------------------------------------------------------------- report bodies

POW10 = [10**i for i in range(40)]  # (shared by the number readers and writers)


def py_units(units: int, scale: int) -> bytes:
    """Integer units of 10**-scale as FIX decimal text: no trailing zeros, b"0" for zero
    (``order_entry.reports.units_text`` is this as str; ``er_body`` in C does the same)."""
    if units < 0:
        return b"-" + py_units(-units, scale)
    q, r = divmod(units, POW10[scale])
    if r == 0:
        return b"%d" % q
    return (b"%d.%0*d" % (q, scale, r)).rstrip(b"0")


def py_er_terms(
    account: str, symbol: str, side: str, qty: int, qty_scale: int, ord_type: str, price: int,
    price_scale: int, stop_price: int, tif: str,
) -> bytes:
    """An order's Account(1), Symbol(55), Side(54), OrderQty(38), OrdType(40), Price(44),
    StopPx(99), TimeInForce(59): the run ``py_er_body`` takes as ``terms``, in the order
    ``reports.execution_report`` puts them. Account, OrdType and TimeInForce only when not
    empty; Price only when positive and the order type is limit (2) or stop limit (4); StopPx
    only when positive. Quantities and prices are integer units of 10**-scale."""
    parts = [b"1=%s\x01" % account.encode()] if account else []
    parts.append(b"55=%s\x0154=%s\x0138=%s\x01" % (symbol.encode(), side.encode(), py_units(qty, qty_scale)))
    if ord_type:
        parts.append(b"40=%s\x01" % ord_type.encode())
    if price > 0 and ord_type in ("2", "4"):
        parts.append(b"44=%s\x01" % py_units(price, price_scale))
    if stop_price > 0:
        parts.append(b"99=%s\x01" % py_units(stop_price, price_scale))
    if tif:
        parts.append(b"59=%s\x01" % tif.encode())
    return b"".join(parts)


def py_er_body(
    head: bytes, orig: bytes, evt_seq: int, n: int, exec_type: bytes, status: bytes, terms: bytes,
    last_px: int, last_qty: int, price_scale: int, qty_scale: int, leaves: int, cum: int,
    avg: bytes | None, cum_value: int, commission: int | None, quote_scale: int, text: bytes,
    transact: bytes, last_liq: bytes, aggressor: int,
) -> bytes:
    """The body fields of an ExecutionReport, pre-encoded (a ``(0, bytes)`` run for
    ``codec.encode``), in the order ``reports.execution_report`` puts them: ``head`` (OrderID,
    ClOrdID), OrigClOrdID if ``orig``, ExecID ``<evt_seq>-<n>``, ExecType, OrdStatus, ``terms``
    (Account .. TimeInForce), LastPx/LastQty if ``last_qty``, LeavesQty, CumQty, AvgPx (``avg``,
    or when None the whole number of price units ``cum_value / cum``; "0" with no fill),
    Commission/CommType if ``commission`` is not None, Text if ``text``, TransactTime,
    LastLiquidityInd if ``last_liq``, AggressorIndicator if ``aggressor`` >= 0 (1: Y, 0: N).
    Quantities, prices and fees are integer units of 10**-scale."""
    parts = [head]
    if orig:
        parts.append(b"41=%s\x01" % orig)
    parts.append(b"17=%d-%d\x01150=%s\x0139=%s\x01" % (evt_seq, n, exec_type, status))
    parts.append(terms)
    if last_qty:
        parts.append(b"31=%s\x0132=%s\x01" % (py_units(last_px, price_scale), py_units(last_qty, qty_scale)))
    if avg is None:
        if cum and cum_value % cum:
            raise ValueError("average price is not whole: pass its text")
        avg = py_units(cum_value // cum, price_scale) if cum else b"0"
    parts.append(b"151=%s\x0114=%s\x016=%s\x01" % (py_units(leaves, qty_scale), py_units(cum, qty_scale), avg))
    if commission is not None:
        parts.append(b"12=%s\x0113=3\x01" % py_units(commission, quote_scale))
    if text:
        parts.append(b"58=%s\x01" % text)
    parts.append(b"60=%s\x01" % transact)
    if last_liq:
        parts.append(b"851=%s\x01" % last_liq)
    if aggressor >= 0:
        parts.append(b"1057=Y\x01" if aggressor else b"1057=N\x01")
    return b"".join(parts)
