"""The ``wmverse`` entry point dispatches to each world model's sub-commands."""

import os
import subprocess
import sys

import pytest

from wmverse.cli import SUBCOMMANDS, build_parser, main


def test_every_registered_subcommand_has_a_parser():
    parser = build_parser()
    sub_action = next(a for a in parser._actions if a.dest == "command")
    assert set(sub_action.choices) == set(SUBCOMMANDS)


def test_missing_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main([])
    assert exc.value.code == 2
    assert "COMMAND" in capsys.readouterr().err


def test_console_script_help_runs():
    out = subprocess.run(
        [sys.executable, "-m", "wmverse.cli", "--help"], capture_output=True, text=True, check=True
    )
    for name in SUBCOMMANDS:
        assert name in out.stdout


# --- shared argument checks (wmverse.cli_args) -------------------------------------------


def test_number_checks_accept_the_edges_and_refuse_nonsense():
    import argparse

    from wmverse.cli_args import MAX_SEED, int_in_range, non_negative_int, positive_int, seed, unit_float

    assert positive_int("1") == 1 and non_negative_int("0") == 0 and int_in_range(2, 4)("4") == 4
    assert seed("0") == 0 and seed(str(MAX_SEED)) == 2**32 - 1
    assert unit_float("0") == 0.0 and unit_float("0.5") == 0.5
    for check, text in [
        (positive_int, "0"),
        (positive_int, "1.5"),
        (non_negative_int, "-1"),
        (int_in_range(2, 4), "5"),
        (seed, "-5"),
        (seed, str(2**32)),
        (unit_float, "nan"),
        (unit_float, "inf"),
        (unit_float, "1"),
        (unit_float, "-0.1"),
        (unit_float, "half"),
    ]:
        with pytest.raises(argparse.ArgumentTypeError):
            check(text)


def test_path_checks_look_without_writing(tmp_path):
    import argparse

    from wmverse.cli_args import writable_dir, writable_file

    blocker = tmp_path / "blocker"
    blocker.write_text("a regular file")
    assert writable_file(str(tmp_path / "new" / "deeper" / "out.json")).endswith("out.json")
    assert writable_file(str(blocker)) == str(blocker)  # an existing file may be overwritten
    assert writable_dir(str(tmp_path / "new" / "logs")).endswith("logs")
    for check, path, reason in [
        (writable_file, blocker / "out.json", "is not a directory"),
        (writable_file, blocker / "a" / "b.json", "is not a directory"),
        (writable_file, tmp_path, "it is a directory"),
        (writable_dir, blocker, "exists and is not a directory"),
        (writable_file, "", "empty path"),
    ]:
        with pytest.raises(argparse.ArgumentTypeError, match=reason):
            check(str(path))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocker"]


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root ignores permission bits")
def test_read_only_directory_is_refused(tmp_path):
    import argparse

    from wmverse.cli_args import writable_file

    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(argparse.ArgumentTypeError, match="no permission"):
            writable_file(str(locked / "out.json"))
    finally:
        locked.chmod(0o700)


@pytest.mark.parametrize(
    "command",
    [
        ["debate", "train", "obs.json", "--name", "X"],
        ["canvas", "train"],
        ["canvas", "forecast"],
        ["leworld", "train"],
        ["dynamics", "train"],
    ],
)
@pytest.mark.parametrize("bad", ["-5", str(2**32)])
def test_every_seeded_command_refuses_a_bad_seed(command, bad, capsys):
    flag = "--seeds" if command[:2] == ["canvas", "forecast"] else "--seed"
    with pytest.raises(SystemExit) as exc:
        main([*command, flag, bad])
    assert exc.value.code == 2
    assert "a seed must be an integer in [0, 2**32 - 1]" in capsys.readouterr().err


@pytest.mark.parametrize(
    "flag, bad, reason",
    [
        ("--max-env-steps", "-5", "must be an integer >= 1"),
        ("--eval-episodes", "0", "must be an integer >= 1"),
        ("--warmup-steps", "-1", "must be an integer >= 0"),
        ("--metrics-port", "70000", "65535"),
    ],
)
def test_dynamics_train_refuses_nonsense_before_training(flag, bad, reason, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["dynamics", "train", flag, bad])
    assert exc.value.code == 2 and reason in capsys.readouterr().err


def test_dynamics_train_refuses_an_unwritable_save_path_before_training(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(SystemExit) as exc:
        main(["dynamics", "train", "--save", str(blocker / "model.pt")])
    assert exc.value.code == 2 and "is not a directory" in capsys.readouterr().err
