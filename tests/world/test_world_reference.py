"""The restructure changed no behaviour: the debate-only training world (``WMVERSE_LEARNERS=none``, every
other setting at its default) writes the same stats rows and final allocations as commit 9d3c01d, the last
commit before the restructure, for seeds 0 and 1.

The reference rows in ``reference/`` were dumped from that commit's runs with the command stored in each
file. Strings, integers, names and timestamps must be equal; floats equal to 1e-9 relative (the exact
binomial p-value and the interval now come from scipy, whose summation order differs from the old code's
in the last bits).
"""

import gzip
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from wmverse.runtime.stats_db import rows
from worlds.training.src.config import DEFAULT_WORLD_FOLDER

REFERENCE = Path(__file__).parent / "reference"
REPO = DEFAULT_WORLD_FOLDER.parents[1]


def _same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None or isinstance(a, str) or isinstance(b, str):
            return False
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b


def _parsed(row: list) -> list:
    """A row with its JSON column decoded (key order inside JSON is not part of the content)."""
    out = list(row)
    out[-1] = json.loads(out[-1]) if isinstance(out[-1], str) else out[-1]
    return out


def _key(row: list) -> tuple:
    return tuple(str(v) for v in row[:3])


@pytest.mark.parametrize("seed", [0, 1])
def test_debate_only_world_matches_the_pre_restructure_reference(seed, tmp_path_factory):
    ref = json.loads(gzip.decompress((REFERENCE / f"debate_seed{seed}.json.gz").read_bytes()))
    env = {k: v for k, v in os.environ.items() if not k.startswith("WMVERSE_")}
    env.update(WMVERSE_LEARNERS="none", WMVERSE_CACHE_DIR=str(tmp_path_factory.getbasetemp() / "cache"))
    out = tmp_path_factory.mktemp(f"reference_{seed}")
    cmd = [
        sys.executable,
        "run_synch.py",
        "worlds/training",
        "--seed",
        str(seed),
        "--out",
        str(out),
        "--quiet",
    ]
    run = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]

    got = rows(out / "world_stats.db")
    got_dyn = sorted((_parsed(list(r[1:])) for r in got if r[0] == "dyn"), key=_key)
    got_sta = sorted((_parsed(list(r[1:])) for r in got if r[0] == "static"), key=_key)
    want_dyn = sorted((_parsed(r) for r in ref["dynamic_stats"]), key=_key)
    want_sta = sorted((_parsed(r) for r in ref["static_stats"]), key=_key)
    assert len(got_dyn) == len(want_dyn) and len(got_sta) == len(want_sta)
    for got_rows, want_rows in ((got_dyn, want_dyn), (got_sta, want_sta)):
        for g, w in zip(got_rows, want_rows, strict=True):
            assert _same(g, w), f"row differs from the reference:\n got  {g}\n want {w}"
    final = next(r for r in got_sta if r[1] == "final_allocations")[-1]
    want_final = next(r for r in want_sta if r[1] == "final_allocations")[-1]
    assert _same(final, want_final) and len(final) == 7
