"""Write throughput of the run store against raw ``sqlite3.executemany`` into an equivalent table.

Both write the same N stat points (10 agents x 10 stats, a step every 100 points, float values) in
batches of B, one transaction per batch, into a fresh SQLite file each (WAL, synchronous=NORMAL, foreign
keys on), to a table with the same columns, foreign key and indexes. Only the write calls are timed (the
rows are made beforehand, batch by batch). The goal: the store within 2x of raw sqlite3.

    python benchmarks/store.py [--points 1000000] [--batch 10000] [--db URL]

``--db`` also times the store on another database (e.g. PostgreSQL), whose tables it must be free to use.
"""

from __future__ import annotations

import argparse
import platform
import random
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from wmverse.store import Point, RunStore

RAW_SCHEMA = """
CREATE TABLE runs (id INTEGER PRIMARY KEY);
CREATE TABLE stat_points (
    id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    agent VARCHAR(200) NOT NULL, stat VARCHAR(200) NOT NULL, step INTEGER, sim_time FLOAT,
    wall_time FLOAT NOT NULL, value FLOAT, value_json TEXT
);
CREATE INDEX ix_stat_points_run_id_stat_step ON stat_points (run_id, stat, step);
CREATE INDEX ix_stat_points_run_id_id ON stat_points (run_id, id);
INSERT INTO runs (id) VALUES (1);
"""
RAW_INSERT = (
    "INSERT INTO stat_points (run_id, agent, stat, step, sim_time, wall_time, value, value_json) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
AGENTS = [f"12D3KooW-agent-{i}" for i in range(10)]
STATS = ["allocation", "claim_score", "stakes_pro", "stakes_con", "claims_proposed"] + [
    f"losses/l{i}" for i in range(5)
]


def batches(n: int, size: int, seed: int = 0) -> Iterator[list[Point]]:
    """``n`` points in lists of ``size``: every (agent, stat) once per step."""
    rng = random.Random(seed)
    wall = time.time()
    for start in range(0, n, size):
        batch = []
        for i in range(start, min(n, start + size)):
            step = i // 100
            batch.append(
                Point(
                    AGENTS[i % 10], STATS[(i // 10) % 10], rng.random(), step, 1.7e9 + step, wall + i * 1e-4
                )
            )
        yield batch


def time_store(url: str, n: int, size: int) -> float:
    """Seconds the store spent in ``add_points`` for ``n`` points."""
    with RunStore.open(url) as store:
        run_id = store.begin_run("benchmark", 0, {"points": n, "batch": size})
        spent = 0.0
        for batch in batches(n, size):
            start = time.perf_counter()
            store.add_points(run_id, batch)
            spent += time.perf_counter() - start
        store.finish_run(run_id)
        assert store.counts(run_id)["points"] == n
    return spent


def time_raw(path: Path, n: int, size: int) -> float:
    """Seconds raw sqlite3 spent in BEGIN + executemany + COMMIT for ``n`` points."""
    con = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
        con.execute(f"PRAGMA {pragma}")
    con.executescript(RAW_SCHEMA)
    spent = 0.0
    for batch in batches(n, size):
        rows = [(1, p.agent, p.stat, p.step, p.sim_time, p.wall_time, p.value, None) for p in batch]
        start = time.perf_counter()
        con.execute("BEGIN IMMEDIATE")
        con.executemany(RAW_INSERT, rows)
        con.execute("COMMIT")
        spent += time.perf_counter() - start
    assert con.execute("SELECT count(*) FROM stat_points").fetchone()[0] == n
    con.close()
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--db", help="also time the store on this SQLAlchemy URL")
    args = parser.parse_args()
    print(f"{platform.python_version()} on {platform.machine()}, sqlite {sqlite3.sqlite_version}")
    print(f"{args.points:,} stat points in batches of {args.batch:,} (one transaction each)")
    with tempfile.TemporaryDirectory() as folder:
        raw = time_raw(Path(folder) / "raw.db", args.points, args.batch)
        store = time_store(str(Path(folder) / "store.db"), args.points, args.batch)
    print(f"  raw sqlite3.executemany  {args.points / raw:>12,.0f} points/s  ({raw:.2f} s)")
    print(f"  RunStore.add_points      {args.points / store:>12,.0f} points/s  ({store:.2f} s)")
    print(f"  store / raw time         {store / raw:>12.2f} x  (goal: under 2x)")
    if args.db:
        other = time_store(args.db, args.points, args.batch)
        print(f"  RunStore on --db         {args.points / other:>12,.0f} points/s  ({other:.2f} s)")


if __name__ == "__main__":
    main()
