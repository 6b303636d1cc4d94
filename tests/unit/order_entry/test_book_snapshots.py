"""The gateway's order-book snapshots: exact round trip, and a damaged, foreign or stale file
is never used."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from msgspec.structs import replace

from fix_gateway.order_entry.book_snapshots import BookSnapshotStore, encode_book
from fix_gateway.order_entry.orders import Order
from fix_gateway.order_entry.refdata import RefData
from tests.unit.order_entry.harness import ALPHA, Core, order

STREAM = 0x5EED


def _book_after_a_day() -> Core:
    core = Core()
    core.send(ALPHA, "D", order("gtc", "1", "0.1", "58000", t59="1"))
    core.send(ALPHA, "D", order("day", "1", "0.1", "59000"))
    core.pump()
    core.send(ALPHA, "G", [(41, "gtc"), (11, "gtc-2"), (55, "BTC-USD"), (54, "1"), (60, "20261122-00:00:00"),
                           (38, "0.2"), (40, "2"), (44, "58001"), (59, "1")])
    core.pump()
    core.end_of_session()
    return core


def test_the_book_comes_back_exactly(tmp_path: Path) -> None:
    core = _book_after_a_day()
    store = BookSnapshotStore(tmp_path, gateway_id=3)
    store.save(7, encode_book(core.book, 7), STREAM)
    snap = store.latest(core.refdata, 7, STREAM)
    assert snap is not None and (snap.evt_seq, snap.days_ended) == (7, 1)
    # every field; the encoded report parts are not stored: rebuilt on use, the same bytes
    assert {k: replace(o, head=b"", terms=b"") for k, o in core.book.orders.items()} == snap.orders
    for k, o in snap.orders.items():
        live = core.book.orders[k]
        assert (o.encode_head(), o.encode_terms()) == (live.head or live.encode_head(), live.terms or live.encode_terms())
    def names(index: Mapping[str, Mapping[str, Order]]) -> dict[tuple[str, str], int]:
        return {(account, cl): o.order_id for account, named in index.items() for cl, o in named.items()}

    assert names(snap.by_cl_ord_id) == names(core.book.by_cl_ord_id)
    assert sorted(cl for _, cl in names(snap.by_cl_ord_id)) == ["gtc", "gtc-2"]  # both ClOrdIDs of the live order
    [o] = snap.orders.values()
    assert snap.by_cl_ord_id["ALPHA-1"]["gtc"] is o and o.spec is core.refdata.instruments["BTC-USD"]


def test_damaged_foreign_and_stale_snapshots_are_skipped(tmp_path: Path) -> None:
    core = _book_after_a_day()
    store = BookSnapshotStore(tmp_path, keep=5)
    store.save(5, encode_book(core.book, 5), STREAM)
    newest = store.save(9, encode_book(core.book, 9), STREAM)
    assert store.latest(core.refdata, 8, STREAM).evt_seq == 5  # type: ignore[union-attr]  # 9 is beyond the stream
    data = bytearray(newest.read_bytes())
    data[-1] ^= 0xFF
    newest.write_bytes(bytes(data))
    assert store.latest(core.refdata, 100, STREAM).evt_seq == 5  # type: ignore[union-attr]  # bad CRC: skipped
    assert store.latest(RefData({}, {}), 100, STREAM) is None  # its instrument is unknown here
    assert BookSnapshotStore(tmp_path, gateway_id=1).latest(core.refdata, 100, STREAM) is None  # another gateway's
    assert store.latest(core.refdata, 100, STREAM + 1) is None  # another event stream's (deleted, started again)


def test_only_the_newest_are_kept(tmp_path: Path) -> None:
    core = _book_after_a_day()
    store = BookSnapshotStore(tmp_path, keep=2)
    for seq in (1, 2, 3):
        store.save(seq, encode_book(core.book, seq), STREAM)
    assert [p.name for p in store._files()] == ["gateway-0-00000000000000000002.snap", "gateway-0-00000000000000000003.snap"]
