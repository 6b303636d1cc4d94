from __future__ import annotations

import pytest

from engine.core import MatchingEngine
from engine.reference import ReferenceEngine

from .helpers import Venue


@pytest.fixture(params=["c", "reference"])
def venue(request: pytest.FixtureRequest) -> Venue:
    """Every scenario runs on the C core and on the reference model."""
    return Venue(MatchingEngine() if request.param == "c" else ReferenceEngine())


@pytest.fixture(params=["c", "reference"])
def fee_venue(request: pytest.FixtureRequest) -> Venue:
    return Venue(MatchingEngine() if request.param == "c" else ReferenceEngine(), fees=True)
