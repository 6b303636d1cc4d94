"""Helpers over parsed messages: split header/body/trailer, canonical body order."""

from __future__ import annotations

from fix_gateway.codec import FixMessage
from fix_gateway.dictionary import GroupDef, MessageDef

TRAILER_TAGS = frozenset({89, 93, 10})


def body_fields(msg: FixMessage, header_tags: frozenset[int]) -> list[tuple[int, bytes]]:
    """Body fields in wire order (everything after the header, before the trailer)."""
    fields = msg.fields
    i = 3
    n = len(fields)
    while i < n and fields[i][0] in header_tags:
        i += 1
    j = n
    while j > i and fields[j - 1][0] in TRAILER_TAGS:
        j -= 1
    return fields[i:j]


def canonical_body(
    body: list[tuple[int, bytes]], mdef: MessageDef | None
) -> list[tuple[int, bytes]]:
    """Body fields ordered by tag (as QuickFIX writes them); each repeating group stays one
    block behind its NumInGroup tag, entries unchanged."""
    groups = mdef.groups if mdef else {}
    blocks: list[tuple[int, list[tuple[int, bytes]]]] = []
    i, n = 0, len(body)
    while i < n:
        tag = body[i][0]
        g = groups.get(tag)
        if g is None:
            blocks.append((tag, [body[i]]))
            i += 1
        else:
            j = _group_end(body, i + 1, g)
            blocks.append((tag, body[i:j]))
            i = j
    blocks.sort(key=lambda b: b[0])
    return [f for _, block in blocks for f in block]


def _group_end(body: list[tuple[int, bytes]], i: int, g: GroupDef) -> int:
    n = len(body)
    while i < n and body[i][0] in g.members:
        sub = g.groups.get(body[i][0])
        i = _group_end(body, i + 1, sub) if sub else i + 1
    return i


__all__ = ["TRAILER_TAGS", "body_fields", "canonical_body"]
