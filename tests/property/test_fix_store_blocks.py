"""The FIX PostgreSQL store's block format: any messages packed come back unpacked, exactly."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from fix_gateway.stores.postgres import BLOCK_MESSAGES, _blocks, pack_block, unpack_block

messages = st.dictionaries(st.integers(1, 2**62), st.binary(max_size=300), max_size=50)


@given(messages)
def test_pack_then_unpack_is_identity(msgs: dict[int, bytes]) -> None:
    items = sorted(msgs.items())
    assert list(unpack_block(pack_block(items))) == items


@given(st.integers(1, 3 * BLOCK_MESSAGES), st.integers(1, 1000))
def test_blocks_cover_the_pending_messages_in_order(count: int, first: int) -> None:
    pending = {seq: b"m%d" % seq for seq in range(first + count - 1, first - 1, -1)}  # newest first
    rows = _blocks(pending)
    assert all(1 <= n <= BLOCK_MESSAGES for _, _, n, _ in rows)
    unpacked = [m for _, _, _, raw in rows for m in unpack_block(raw)]
    assert unpacked == sorted(pending.items())
    for first, last, n, raw in rows:
        block = list(unpack_block(raw))
        assert (first, last, n) == (block[0][0], block[-1][0], len(block))
