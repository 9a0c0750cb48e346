"""The restructure changed no result: the debate-only training world (``WMVERSE_LEARNERS=none``, every other
setting at its default) computes the same debate as commit 9d3c01d, the last commit before the restructure,
for seeds 0 and 1: every debate stat's series of values (per tendency, and the world's), the final
allocations, the validation and the badges.

The reference rows in ``reference/`` were dumped from that commit's runs with the command stored in each
file. Strings, integers and names must be equal; floats to four significant digits. Since that commit the world's
requests reach the agents through the master agent (``src/relay.py``, as live unaiverse requires), which takes
a few ticks more per request and serves the agents in another order within a tick: timestamps, peer ids (one
more node) and the bookkeeping rows of the agents' states are no longer compared, and floats agree to float32
precision, not to the last bit (the agents of one process share the embedding judge's in-memory cache, so
which agent embeds a text first decides the batch it is embedded in; before the master, 1e-9 held).
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
        return math.isclose(float(a), float(b), rel_tol=1e-4, abs_tol=1e-6)
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


#: The world's debate series, and each tendency's (grouped by its peer id), compared value by value in order.
WORLD_SERIES = (
    "epoch",
    "learning_rate",
    "winner",
    "allocation_delta",
    "converged",
    "val_accuracy",
    "p_value",
)
AGENT_SERIES = ("allocation", "claim_score", "claims_proposed", "stakes_con", "stakes_pro")
#: The world's results at the end of the run.
FINAL = ("final_allocations", "final_winner", "training_finished", "validation_metric")


def _debate(dyn: list[list], sta: list[list]) -> dict:
    """The debate's content of a run's stats rows ``[group, name, timestamp, *values]``: series in time order,
    keyed by ``(tendency or "world", stat)``, the final results and the badges without their award times."""
    tendency = {r[0]: r[-1] for r in sta if r[1] == "tendency"}
    out: dict = {}
    for r in sorted(dyn, key=lambda r: r[2]):
        if r[1] in WORLD_SERIES:
            out.setdefault(("world", r[1]), []).append(r[3:])
        elif r[1] in AGENT_SERIES:
            out.setdefault((tendency[r[0]], r[1]), []).append(r[3:])
    for r in sta:
        if r[1] in FINAL:
            out[("final", r[1])] = r[3:]
    badges = next(r[-1] for r in sta if r[1] == "badges")
    out[("final", "badges")] = sorted(
        (
            {k: v for k, v in b.items() if k != "peer_id"}
            | {"description": b["description"].split("; awarded ")[0]}
            for b in badges
        ),
        key=lambda b: (b["tendency"], b["badge_type"]),
    )
    return out


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
    got_debate = _debate(
        [_parsed(list(r[1:])) for r in got if r[0] == "dyn"],
        [_parsed(list(r[1:])) for r in got if r[0] == "static"],
    )
    want = _debate([_parsed(r) for r in ref["dynamic_stats"]], [_parsed(r) for r in ref["static_stats"]])
    assert got_debate.keys() == want.keys()
    for key, value in want.items():
        assert _same(got_debate[key], value), (
            f"{key} differs from the reference:\n got  {got_debate[key]}\n want {value}"
        )
    assert len(want[("world", "epoch")]) == 24 if seed == 0 else len(want[("world", "epoch")]) > 1
    final = want[("final", "final_allocations")][-1]
    assert len(final) == 7 and _same(got_debate[("final", "final_allocations")][-1], final)
