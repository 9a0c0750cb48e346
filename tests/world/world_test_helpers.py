"""Shared helpers of the world tests (not a test module)."""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
WORLD = REPO / "worlds" / "training"
if str(REPO) not in sys.path:  # the agents' processors live in <repo>/agents
    sys.path.insert(0, str(REPO))


def db_dump(path: str | Path) -> list[tuple]:
    """Every row of the stats database, sorted (timestamps are synthetic, so the whole row is compared)."""
    con = sqlite3.connect(str(path))
    try:
        dyn = sorted(
            ("dyn", *r)
            for r in con.execute(
                "SELECT peer_id, stat_name, timestamp, val_num, val_str, val_json FROM dynamic_stats"
            )
        )
        sta = sorted(
            ("static", *r)
            for r in con.execute("SELECT peer_id, stat_name, timestamp, val_json FROM static_stats")
        )
    finally:
        con.close()
    return dyn + sta


def series(path: str | Path, stat: str) -> dict[str, list[tuple[int, float]]]:
    """``{peer_id: [(timestamp, value), ...]}`` of a dynamic stat."""
    con = sqlite3.connect(str(path))
    out: dict[str, list] = {}
    try:
        for pid, ts, num, s, js in con.execute(
            "SELECT peer_id, timestamp, val_num, val_str, val_json FROM "
            "dynamic_stats WHERE stat_name=? ORDER BY timestamp",
            (stat,),
        ):
            value = num if num is not None else (s if s is not None else json.loads(js))
            out.setdefault(pid, []).append((ts, value))
    finally:
        con.close()
    return out


def static(path: str | Path, stat: str) -> dict[str, object]:
    """``{peer_id: value}`` of a static stat."""
    con = sqlite3.connect(str(path))
    try:
        return {
            pid: json.loads(v)
            for pid, v in con.execute("SELECT peer_id, val_json FROM static_stats WHERE stat_name=?", (stat,))
        }
    finally:
        con.close()
