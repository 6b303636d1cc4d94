"""Generate ``engine/_rejects.h`` from ``venue/rejects.py`` (``python -m engine.gen_rejects``).

The header is committed; ``tests/unit/engine/test_rejects.py`` fails when it is stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

from venue.rejects import REJECT_INFO, CancelReason, RejectCode

HEADER = Path(__file__).with_name("_rejects.h")


def render() -> str:
    lines = [
        "/* DO NOT MODIFY: generated from venue/rejects.py by `python -m engine.gen_rejects`. */",
        "#ifndef VENUE_ENGINE_REJECTS_H",
        "#define VENUE_ENGINE_REJECTS_H",
        "",
        "enum venue_reject_code {",
    ]
    for code in RejectCode:
        lines.append(f"    RJ_{code.name} = {int(code)},  /* {REJECT_INFO[code].text} */")
    lines += ["};", "", "enum venue_cancel_reason {"]
    for reason in CancelReason:
        lines.append(f"    CR_{reason.name} = {int(reason)},")
    lines += ["};", "", "#endif", ""]
    return "\n".join(lines)


def main() -> int:
    text = render()
    if "--check" in sys.argv:
        return 0 if HEADER.exists() and HEADER.read_text() == text else 1
    HEADER.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
