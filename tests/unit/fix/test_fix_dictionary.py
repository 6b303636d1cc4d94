"""Dictionary loader: fields, messages, components expanded, groups, header/trailer, cache."""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

from fix_gateway import dictionary
from fix_gateway.dictionary import load, load_xml


def test_fix44_tables() -> None:
    d = load("FIX44")
    assert d.begin_string == "FIX.4.4"
    assert d.fields[35].name == "MsgType" and d.names["MsgType"] == 35
    assert d.fields[54].type == "CHAR" and b"1" in (d.fields[54].values or ())
    assert {8, 9, 35, 34, 49, 52, 56} <= d.header.required
    assert d.trailer.order[-1] == 10
    nos = d.messages[b"D"]
    assert nos.name == "NewOrderSingle" and nos.category == "app"
    assert {11, 54, 60, 40} <= nos.required
    assert 55 in nos.fields  # from the Instrument component
    assert d.messages[b"0"].category == "admin"


def test_groups_have_delimiter_members_and_nesting() -> None:
    d = load("FIX44")
    nos = d.messages[b"D"]
    parties = nos.groups[453]
    assert parties.delimiter == 448
    assert {448, 447, 452, 802} <= parties.members
    assert 802 in parties.groups  # NoPartySubIDs nested
    assert parties.groups[802].delimiter == 523
    sessions = nos.groups[386]
    assert sessions.order[0] == 336


def test_fixt_and_fix50sp2() -> None:
    t = load("FIXT11")
    assert t.begin_string == "FIXT.1.1"
    assert 1128 in t.header.fields and b"A" in t.messages
    a = load("FIX50SP2")
    assert a.begin_string == "FIX.5.0SP2"
    assert b"D" in a.messages and 1137 in t.messages[b"A"].fields


def test_cache_file_round_trips(tmp_path: Path) -> None:
    src = Path(dictionary.SPECS_DIR) / "FIXT11.xml"
    copy = tmp_path / "FIXT11.xml"
    shutil.copy(src, copy)
    first = load(str(copy))
    cache = dictionary._cache_path(copy)
    assert cache.exists()
    with cache.open("rb") as fh:
        assert pickle.load(fh) == first
    assert load_xml(copy) == first
