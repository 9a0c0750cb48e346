"""The ``wmverse`` entry point dispatches to each world model's sub-commands."""

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
