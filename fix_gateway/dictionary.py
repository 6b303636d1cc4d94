"""FIX data dictionaries (QuickFIX XML format, ``specs/*.xml``) as validation tables.

Generated from the spec, never hand-written (style rule 11). Components are expanded in
place; a component's fields are required only when the component is required (as
QuickFIX does). A repeating group's delimiter is its first member field. Loading FIX50SP2
from XML takes about a second, so the tables are pickled next to the XML
(``specs/.cache/``, keyed by file size and mtime; silently skipped if not writable) and
memoised per process.
"""

from __future__ import annotations

import functools
import os
import pickle
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import NamedTuple

SPECS_DIR = Path(__file__).resolve().parent.parent / "specs"
CACHE_VERSION = 2


class FieldDef(NamedTuple):
    tag: int
    name: str
    type: str
    values: frozenset[bytes] | None  # allowed enum values, None = any


class GroupDef(NamedTuple):
    count_tag: int
    delimiter: int
    order: tuple[int, ...]  # member tags in dictionary order (nested count tags included)
    members: frozenset[int]
    required: frozenset[int]
    groups: dict[int, GroupDef]


class MessageDef(NamedTuple):
    msg_type: bytes
    name: str
    category: str  # "admin" or "app"
    order: tuple[int, ...]  # top-level tags in dictionary order
    fields: frozenset[int]  # top-level tags (group members are in groups)
    required: frozenset[int]
    groups: dict[int, GroupDef]


class Dictionary(NamedTuple):
    begin_string: str  # "FIX.4.4", "FIXT.1.1", "FIX.5.0SP2"
    fields: dict[int, FieldDef]
    names: dict[str, int]
    header: MessageDef
    trailer: MessageDef
    messages: dict[bytes, MessageDef]

    def tag(self, name: str) -> int:
        return self.names[name]


def _begin_string(root: ET.Element) -> str:
    kind, major, minor = root.get("type", "FIX"), root.get("major"), root.get("minor")
    sp = root.get("servicepack", "0")
    if kind == "FIXT":
        return f"FIXT.{major}.{minor}"
    if int(major or 0) >= 5:
        return f"FIX.{major}.{minor}" + (f"SP{sp}" if sp not in ("", "0") else "")
    return f"FIX.{major}.{minor}"


class _Builder:
    def __init__(self, root: ET.Element) -> None:
        self.fields: dict[int, FieldDef] = {}
        self.names: dict[str, int] = {}
        for f in root.find("fields") or ():
            tag, name = int(f.get("number", "0")), f.get("name", "")
            values = frozenset(v.get("enum", "").encode() for v in f.findall("value")) or None
            self.fields[tag] = FieldDef(tag, name, f.get("type", "STRING").upper(), values)
            self.names[name] = tag
        self.components = {c.get("name"): c for c in root.find("components") or ()}

    def expand(
        self, node: ET.Element, required: bool
    ) -> tuple[list[int], set[int], dict[int, GroupDef]]:
        """Members of a message/component/group body: (ordered tags, required, groups)."""
        order: list[int] = []
        req: set[int] = set()
        groups: dict[int, GroupDef] = {}
        for child in node:
            is_req = required and child.get("required") == "Y"
            if child.tag == "field":
                tag = self.names[child.get("name", "")]
                order.append(tag)
                if is_req:
                    req.add(tag)
            elif child.tag == "component":
                comp = self.components[child.get("name")]
                o, r, g = self.expand(comp, is_req)
                order += o
                req |= r
                groups.update(g)
            elif child.tag == "group":
                tag = self.names[child.get("name", "")]
                order.append(tag)
                if is_req:
                    req.add(tag)
                # inside a group, members' own required flags apply per entry
                o, r, g = self.expand(child, True)
                groups[tag] = GroupDef(tag, o[0], tuple(o), frozenset(o), frozenset(r), g)
        return order, req, groups

    def message(self, node: ET.Element, msg_type: bytes, name: str, cat: str) -> MessageDef:
        order, req, groups = self.expand(node, True)
        return MessageDef(
            msg_type, name, cat, tuple(order), frozenset(order), frozenset(req), groups
        )


def load_xml(path: str | os.PathLike[str]) -> Dictionary:
    root = ET.parse(path).getroot()
    b = _Builder(root)
    empty = ET.Element("x")
    header = b.message(root.find("header") or empty, b"", "Header", "header")
    trailer = b.message(root.find("trailer") or empty, b"", "Trailer", "trailer")
    messages = {}
    for m in root.find("messages") or ():
        mt = m.get("msgtype", "").encode()
        messages[mt] = b.message(m, mt, m.get("name", ""), m.get("msgcat", "app"))
    return Dictionary(_begin_string(root), b.fields, b.names, header, trailer, messages)


def _cache_path(path: Path) -> Path:
    st = path.stat()
    return (
        path.parent
        / ".cache"
        / f"{path.stem}-{st.st_size}-{st.st_mtime_ns}-v{CACHE_VERSION}.pickle"
    )


@functools.lru_cache(maxsize=16)
def load(path: str | os.PathLike[str]) -> Dictionary:
    """Load a dictionary (``"FIX44"`` names a file in specs/, else a path), cached."""
    p = Path(path)
    if not p.suffix and not p.exists():
        p = SPECS_DIR / f"{p}.xml"
    cache = _cache_path(p)
    try:
        with cache.open("rb") as fh:
            d: Dictionary = pickle.load(fh)
            return d
    except (OSError, pickle.PickleError, EOFError, AttributeError):
        pass
    d = load_xml(p)
    try:
        cache.parent.mkdir(exist_ok=True)
        tmp = cache.with_suffix(f".tmp{os.getpid()}")
        with tmp.open("wb") as fh:
            pickle.dump(d, fh, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(cache)
    except OSError:
        pass
    return d


__all__ = ["SPECS_DIR", "Dictionary", "FieldDef", "GroupDef", "MessageDef", "load", "load_xml"]
