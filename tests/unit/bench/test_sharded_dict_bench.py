"""bench.sharded_dict runs and reports every kind of map it compares."""

from __future__ import annotations

import json

import pytest

from bench import sharded_dict


def test_it_reports_each_map_for_each_key_kind(capsys: pytest.CaptureFixture[str]) -> None:
    assert sharded_dict.main(["--entries", "2000", "--rounds", "1"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["result"]) == {"dict/str", "dict/int", "ShardedDict/str", "ShardedDict/int"}
    for figures in out["result"].values():
        assert figures["worst_insert_ms"] >= 0 and figures["insert_ns"] > 0 and figures["lookup_ns"] > 0
