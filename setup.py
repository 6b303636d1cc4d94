"""C extensions. Each extension is built when its source exists.

VENUE_BUILD_ONLY=engine._book builds just that one (handy while another is being edited);
VENUE_ENGINE_DEBUG=1 at build time compiles the engine's internal-state checks in.
"""

import os
from pathlib import Path

from setuptools import Extension, setup

HERE = Path(__file__).parent
DEBUG = os.environ.get("VENUE_ENGINE_DEBUG") == "1"
CFLAGS = ["-O3", "-std=c11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-fno-strict-aliasing"]

CANDIDATES = {
    "engine._book": ["engine/_book.c"],
    "fix_gateway._codec": ["fix_gateway/_codec.c"],
    "bench._fixload": ["bench/_fixload.c"],
    "bench._callgrind": ["bench/_callgrind.c"],
}

only = {n for n in os.environ.get("VENUE_BUILD_ONLY", "").split(",") if n}
extensions = [
    Extension(
        name,
        sources=sources,
        extra_compile_args=CFLAGS,
        define_macros=[("VENUE_ENGINE_DEBUG", "1")] if DEBUG else [],
    )
    for name, sources in CANDIDATES.items()
    if all((HERE / s).exists() for s in sources) and (not only or name in only)
]

setup(ext_modules=extensions)
