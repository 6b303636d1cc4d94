"""Validate incoming messages against the data dictionaries; rejects are data.

``Validator.validate(msg)`` returns ``None`` or the first problem as a :class:`Problem`
(SessionRejectReason 373, RefTagID 371 or None, standard text). Per-message-type tables
are precomputed so the hot path does one dict lookup per field.

Check order mirrors QuickFIX (what certification scripts expect): field order
(header, body, trailer) -> MsgType known -> required fields -> per field: value present,
data format, enumerated value, tag known, tag allowed in this message, repeated tag,
NumInGroup count. For FIXT sessions header/trailer/admin messages come from the transport
dictionary (FIXT11) and application messages from the application dictionary (FIX50SP2).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from fix_gateway.codec import FixMessage
from fix_gateway.dictionary import Dictionary, GroupDef, MessageDef
from fix_gateway.formats import FORMATS, KINDS, MULTI, PlanEntry, check_values

SHAPE_CACHE_MAX = 4096

INVALID_TAG_NUMBER = 0
REQUIRED_TAG_MISSING = 1
TAG_NOT_DEFINED_FOR_MESSAGE_TYPE = 2
UNDEFINED_TAG = 3
TAG_WITHOUT_VALUE = 4
VALUE_OUT_OF_RANGE = 5
INCORRECT_DATA_FORMAT = 6
COMPID_PROBLEM = 9
SENDING_TIME_ACCURACY = 10
INVALID_MSG_TYPE = 11
TAG_APPEARS_MORE_THAN_ONCE = 13
TAG_OUT_OF_ORDER = 14
REPEATING_GROUP_OUT_OF_ORDER = 15
INCORRECT_NUM_IN_GROUP = 16

TEXTS: dict[int, str] = {
    INVALID_TAG_NUMBER: "Invalid tag number",
    REQUIRED_TAG_MISSING: "Required tag missing",
    TAG_NOT_DEFINED_FOR_MESSAGE_TYPE: "Tag not defined for this message type",
    UNDEFINED_TAG: "Undefined Tag",
    TAG_WITHOUT_VALUE: "Tag specified without a value",
    VALUE_OUT_OF_RANGE: "Value is incorrect (out of range) for this tag",
    INCORRECT_DATA_FORMAT: "Incorrect data format for value",
    7: "Decryption problem",
    8: "Signature problem",
    COMPID_PROBLEM: "CompID problem",
    SENDING_TIME_ACCURACY: "SendingTime accuracy problem",
    INVALID_MSG_TYPE: "Invalid MsgType",
    TAG_APPEARS_MORE_THAN_ONCE: "Tag appears more than once",
    TAG_OUT_OF_ORDER: "Tag specified out of required order",
    REPEATING_GROUP_OUT_OF_ORDER: "Repeating group fields out of order",
    INCORRECT_NUM_IN_GROUP: "Incorrect NumInGroup count for repeating group",
}


class Problem(NamedTuple):
    reason: int  # SessionRejectReason (373)
    tag: int | None  # RefTagID (371)
    text: str

    @classmethod
    def of(cls, reason: int, tag: int | None = None) -> Problem:
        return cls(reason, tag, TEXTS[reason])


# per-tag check: (format checker or None, allowed values or None, multi-valued)
_FieldCheck = tuple[Callable[[bytes], bool] | None, frozenset[bytes] | None, bool]


class _Plan(NamedTuple):
    """Precomputed tables for one message type."""

    mdef: MessageDef
    allowed: frozenset[int]  # top-level body tags
    required: frozenset[int]  # header + body + trailer required tags
    groups: dict[int, GroupDef]  # body + header groups by count tag


class Validator:
    """Dictionary validation for one session (transport dictionary + optional app one)."""

    def __init__(
        self,
        transport: Dictionary,
        app: Dictionary | None = None,
        user_defined: frozenset[int] = frozenset(),
    ) -> None:
        """``user_defined``: extra tags accepted in any application message, values
        unchecked (e.g. the venue's custom tags that no standard dictionary defines)."""
        self.transport = transport
        self.app = app or transport
        self.user_defined = user_defined
        checks: dict[int, _FieldCheck] = {}
        for d in (self.transport, self.app):
            for tag, f in d.fields.items():
                checks.setdefault(tag, (FORMATS.get(f.type), f.values, f.type in MULTI))
        for tag in user_defined:
            checks.setdefault(tag, (None, None, False))
        self._checks = checks
        header, trailer = self.transport.header, self.transport.trailer
        self.header_tags = _all_tags(header)
        self.trailer_tags = _all_tags(trailer)
        self._shapes: dict[tuple[bytes, bytes], tuple[PlanEntry, ...]] = {}
        self._plans: dict[bytes, _Plan] = {}
        for source in (self.app, self.transport):
            for mt, mdef in source.messages.items():
                if mt in self._plans:
                    continue
                if (
                    source is self.app
                    and self.app is not self.transport
                    and mdef.category == "admin"
                ):
                    continue
                groups = dict(header.groups)
                groups.update(mdef.groups)
                self._plans[mt] = _Plan(
                    mdef, mdef.fields, header.required | mdef.required | trailer.required, groups
                )

    @property
    def shapes(self) -> dict[tuple[bytes, bytes], tuple[PlanEntry, ...]]:
        """The value plans of the (MsgType, shape)s validated so far: a message of one of
        them only needs its values checked (``check_values``; ``codec.take_run`` reads it)."""
        return self._shapes

    def message_def(self, msg_type: bytes) -> MessageDef | None:
        plan = self._plans.get(msg_type)
        return plan.mdef if plan else None

    def is_known(self, msg_type: bytes) -> bool:
        return msg_type in self._plans

    # ------------------------------------------------------------------ validation

    def validate(self, msg: FixMessage) -> Problem | None:
        """Fast path: a message whose (MsgType, tag sequence) validated before only needs
        its values checked (in C); the full walk runs otherwise and on any failure."""
        shape = msg.shape
        if shape is not None:
            key = (msg.msg_type, shape)
            plan = self._shapes.get(key)
            if plan is not None and check_values(msg.fields, plan) < 0:
                return None
            problem = self.validate_full(msg)
            if problem is None and plan is None:
                if len(self._shapes) >= SHAPE_CACHE_MAX:
                    self._shapes.clear()
                self._shapes[key] = self._value_plan(msg)
            return problem
        return self.validate_full(msg)

    def _value_plan(self, msg: FixMessage) -> tuple[PlanEntry, ...]:
        entries: list[PlanEntry] = []
        plan = self._plans[msg.msg_type]
        group_counts = _group_count_tags(plan.groups)
        for i, (tag, value) in enumerate(msg.fields):
            if i < 3 or tag == 10:
                entries.append(None)
                continue
            fmt, values, multi = self._checks[tag]
            kind = KINDS.get(fmt, 0) if fmt is not None else 0
            if tag in group_counts:
                entries.append((1, frozenset({value}), False))  # count must match the shape
            elif kind or values is not None:
                entries.append((kind, values, multi))
            else:
                entries.append(None)
        return tuple(entries)

    def validate_full(self, msg: FixMessage) -> Problem | None:
        fields = msg.fields
        n = len(fields)
        header_tags = self.header_tags
        trailer_tags = self.trailer_tags
        # 1. header, body, trailer in that order
        section = 0
        for i in range(3, n):
            tag = fields[i][0]
            if tag in header_tags:
                if section:
                    return Problem.of(TAG_OUT_OF_ORDER, tag)
            elif tag in trailer_tags:
                section = 2
            elif section == 2:
                return Problem.of(TAG_OUT_OF_ORDER, tag)
            else:
                section = 1
        # 2. known MsgType
        plan = self._plans.get(msg.msg_type)
        if plan is None:
            return Problem(INVALID_MSG_TYPE, None, TEXTS[INVALID_MSG_TYPE])
        # 3./4. walk the fields
        checks = self._checks
        allowed = plan.allowed
        groups = plan.groups
        seen: set[int] = {8, 9, 35}
        first: Problem | None = None
        i = 3
        end = n - 1  # CheckSum(10) is last and valid by construction
        while i < end:
            tag, value = fields[i]
            p = self._check_field(checks, tag, value)
            if p is None:
                if tag in seen:
                    p = Problem.of(TAG_APPEARS_MORE_THAN_ONCE, tag)
                elif (
                    tag not in allowed
                    and tag not in header_tags
                    and tag not in trailer_tags
                    and not (tag in self.user_defined and plan.mdef.category == "app")
                ):
                    p = Problem.of(TAG_NOT_DEFINED_FOR_MESSAGE_TYPE, tag)
            seen.add(tag)
            i += 1
            g = groups.get(tag)
            if g is not None and p is None:
                i, p = self._walk_group(g, int(value), fields, i, end, checks)
            if p is not None and first is None:
                first = p
        seen.add(10)
        missing = plan.required - seen
        if missing:
            return Problem.of(REQUIRED_TAG_MISSING, _first_in(missing, plan, self.transport))
        return first

    def _check_field(
        self, checks: dict[int, _FieldCheck], tag: int, value: bytes
    ) -> Problem | None:
        if not value:
            return Problem.of(TAG_WITHOUT_VALUE, tag)
        c = checks.get(tag)
        if c is None or tag <= 0:
            return Problem.of(INVALID_TAG_NUMBER, tag)
        fmt, values, multi = c
        if fmt is not None and not fmt(value):
            return Problem.of(INCORRECT_DATA_FORMAT, tag)
        if values is not None:
            if multi:
                if not all(v in values for v in value.split()):
                    return Problem.of(VALUE_OUT_OF_RANGE, tag)
            elif value not in values:
                return Problem.of(VALUE_OUT_OF_RANGE, tag)
        return None

    def _walk_group(
        self,
        g: GroupDef,
        count: int,
        fields: list[tuple[int, bytes]],
        i: int,
        end: int,
        checks: dict[int, _FieldCheck],
    ) -> tuple[int, Problem | None]:
        entries = 0
        entry: set[int] = set()
        problem: Problem | None = None
        members = g.members
        while i < end:
            tag, value = fields[i]
            if tag not in members:
                break
            if tag == g.delimiter:
                if entries and problem is None and g.required - entry:
                    problem = Problem.of(REQUIRED_TAG_MISSING, min(g.required - entry))
                entries += 1
                entry = set()
            elif entries == 0 and problem is None:
                problem = Problem.of(REPEATING_GROUP_OUT_OF_ORDER, tag)
            elif entries and tag in entry and problem is None:
                problem = Problem.of(TAG_APPEARS_MORE_THAN_ONCE, tag)
            entry.add(tag)
            p = self._check_field(checks, tag, value)
            if p is not None and problem is None:
                problem = p
            i += 1
            sub = g.groups.get(tag)
            if sub is not None and p is None:
                i, p = self._walk_group(sub, int(value), fields, i, end, checks)
                if p is not None and problem is None:
                    problem = p
        if entries and problem is None and g.required - entry:
            problem = Problem.of(REQUIRED_TAG_MISSING, min(g.required - entry))
        if entries != count:
            return i, Problem.of(INCORRECT_NUM_IN_GROUP, g.count_tag)
        return i, problem


def _group_count_tags(groups: dict[int, GroupDef]) -> set[int]:
    out: set[int] = set()
    stack = list(groups.values())
    while stack:
        g = stack.pop()
        out.add(g.count_tag)
        stack.extend(g.groups.values())
    return out


def _all_tags(mdef: MessageDef) -> frozenset[int]:
    tags = set(mdef.fields)
    stack = list(mdef.groups.values())
    while stack:
        g = stack.pop()
        tags |= g.members
        stack.extend(g.groups.values())
    return frozenset(tags)


def _first_in(missing: frozenset[int], plan: _Plan, transport: Dictionary) -> int:
    for tag in (*transport.header.order, *plan.mdef.order, *transport.trailer.order):
        if tag in missing:
            return tag
    return min(missing)


__all__ = ["TEXTS", "Problem", "Validator"]
