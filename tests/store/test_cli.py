"""``wmverse runs``: every action's output and exit code; bad input is one line on stderr and exit 2."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from wmverse.cli import main
from wmverse.store import Point, RunStore


@pytest.fixture
def filled(db_url) -> tuple[str, int, int]:
    """A store with two finished runs of the training world."""
    with RunStore.open(db_url) as store:
        a = store.begin_run("training", 0, {"epochs": 3, "judge": "lexical"})
        b = store.begin_run("training", 1, {"epochs": 3, "judge": "embedding"})
        store.add_node(a, "world", "world", "peer-w")
        store.add_points(a, [Point("world", "val_accuracy", 0.1 * s, step=s) for s in (1, 2, 3)])
        store.add_points(b, [Point("world", "val_accuracy", 0.2 * s, step=s) for s in (1, 2)])
        store.add_points(a, [Point("world", "winner", "survival", step=3)])
        store.finish_run(a)
        store.finish_run(b, "failed")
    return db_url, a, b


def runs(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["runs", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_list_and_show(filled, capsys):
    db, a, b = filled
    code, out, _ = runs(capsys, "list", "--db", db)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["id", "world", "seed", "status"]
    assert lines[1].split()[:4] == [str(b), "training", "1", "failed"] and lines[2].split()[3] == "finished"
    code, out, _ = runs(capsys, "show", str(a), "--db", db)
    assert code == 0
    assert out.startswith(f"run {a}: training, seed 0, finished")
    assert "points 4" in out and "peer-w" in out and "val_accuracy" in out and '"judge": "lexical"' in out


def test_compare_one_stat_and_all_stats(filled, capsys):
    db, a, b = filled
    code, out, _ = runs(capsys, "compare", str(a), str(b), "--stat", "val_accuracy", "--db", db)
    assert code == 0
    rows = [line.split() for line in out.splitlines()]
    assert rows[1] == ["run", str(a), "run", str(b)] or rows[1][-4:] == ["run", str(a), "run", str(b)]
    assert rows[-1][0] == "3" and rows[-1][-1] == "-"  # run b has no step 3
    code, out, _ = runs(capsys, "compare", str(a), str(b), "--db", db)
    assert code == 0 and "val_accuracy" in out and "winner" not in out  # numeric stats only


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_export(filled, capsys, tmp_path, fmt):
    db, a, _ = filled
    target = tmp_path / f"out.{fmt}"
    code, out, _ = runs(capsys, "export", str(a), f"--{fmt}", "-o", str(target), "--db", db)
    assert code == 0 and str(target) in out
    back = pd.read_parquet(target) if fmt == "parquet" else pd.read_csv(target)
    assert back["stat"].tolist() == ["val_accuracy"] * 3 + ["winner"]


def test_delete_asks_for_yes(filled, capsys, monkeypatch):
    db, a, b = filled
    monkeypatch.setattr(sys.stdin, "isatty", lambda: False, raising=False)
    code, _, err = runs(capsys, "delete", str(a), "--db", db)
    assert code == 2 and "without --yes" in err
    code, out, _ = runs(capsys, "delete", str(a), "--yes", "--db", db)
    assert code == 0 and f"deleted run {a}" in out and "4 points" in out
    code, out, _ = runs(capsys, "list", "--db", db)
    assert [line.split()[0] for line in out.splitlines()[1:]] == [str(b)]


def test_delete_prompt_on_a_terminal(filled, capsys, monkeypatch):
    db, a, _ = filled
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True, raising=False)
    monkeypatch.setattr("builtins.input", lambda prompt: "n")
    assert runs(capsys, "delete", str(a), "--db", db)[:2] == (1, "not deleted\n")
    monkeypatch.setattr("builtins.input", lambda prompt: "y")
    assert runs(capsys, "delete", str(a), "--db", db)[0] == 0


def test_unknown_runs_and_stats_exit_2(filled, capsys):
    db, a, _ = filled
    for argv in (
        ["show", "99"],
        ["compare", str(a), "99", "--stat", "val_accuracy"],
        ["export", "99", "--csv"],
    ):
        code, out, err = runs(capsys, *argv, "--db", db)
        assert (
            code == 2 and err.strip() == f"wmverse runs: no run 99 in {RunStore.open(db).where}" and not out
        )
    code, _, err = runs(capsys, "compare", str(a), "--stat", "nope", "--db", db)
    assert code == 2 and "no points of stat 'nope'" in err and "val_accuracy" in err


@pytest.mark.parametrize(
    ("db", "message"),
    [
        ("nodialect://x", "cannot use database URL nodialect://x"),
        ("postgresql://u@h:notaport/db", "bad database URL"),
        (
            "postgresql+psycopg://u:secret@127.0.0.1:1/db",
            "cannot open the run store at postgresql+psycopg://u:***@",
        ),
    ],
)
def test_bad_urls_exit_2_without_traceback(capsys, db, message):
    code, _, err = runs(capsys, "list", "--db", db)
    assert code == 2 and message in err and "secret" not in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_read_commands_never_create_a_store(tmp_path, capsys, monkeypatch):
    missing = tmp_path / "none.db"
    code, _, err = runs(capsys, "list", "--db", str(missing))
    assert code == 2 and err.strip() == f"wmverse runs: no run store at {missing}" and not missing.exists()
    other = tmp_path / "other.db"
    import sqlite3

    sqlite3.connect(other).execute("CREATE TABLE dynamic_stats (x)").connection.commit()
    code, _, err = runs(capsys, "list", "--db", str(other))
    assert code == 2 and "holds no run store" in err
    monkeypatch.setenv("WMVERSE_DB", str(missing))  # the default comes from the environment
    assert runs(capsys, "list")[0] == 2


def test_console_command_prints_one_line_and_exits_2(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "wmverse.cli", "runs", "show", "1", "--db", str(tmp_path / "x.db")],
        capture_output=True,
        text=True,
    )
    assert (
        done.returncode == 2 and done.stderr.startswith("wmverse runs: no run store at") and not done.stdout
    )
