"""Read a world's unaiverse stats database (SQLite): every row, a dynamic series, the static values.

unaiverse's world-side ``Stats`` keeps two tables: ``dynamic_stats`` (one row per recorded value: peer id,
stat name, timestamp in ms, and the value as a number, a string or JSON) and ``static_stats`` (the last
value of each static stat, as JSON). On the synthetic clock the timestamps are part of the run's result,
so the same seed gives the same rows.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

__all__ = ["rows", "series", "static"]


def _connect(path: str | Path) -> sqlite3.Connection:
    if not Path(path).is_file():
        raise FileNotFoundError(f"no stats database at {path}")
    return sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True)


def rows(path: str | Path) -> list[tuple]:
    """Every row, sorted: ``("dyn", peer, stat, ts, num, str, json)`` then ``("static", peer, stat, ts, json)``."""
    con = _connect(path)
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


def series(path: str | Path, stat: str) -> dict[str, list[tuple[int, Any]]]:
    """``{peer_id: [(timestamp, value), ...]}`` of a dynamic stat, in time order."""
    con = _connect(path)
    out: dict[str, list[tuple[int, Any]]] = {}
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


def static(path: str | Path, stat: str) -> dict[str, Any]:
    """``{peer_id: value}`` of a static stat."""
    con = _connect(path)
    try:
        return {
            pid: json.loads(v)
            for pid, v in con.execute("SELECT peer_id, val_json FROM static_stats WHERE stat_name=?", (stat,))
        }
    finally:
        con.close()
