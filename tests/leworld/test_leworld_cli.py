"""``wmverse leworld train`` refuses nonsense before any training and writes nothing."""

import pytest

from wmverse.cli import main


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--seed", "-5"], "--seed: a seed must be an integer in [0, 2**32 - 1], got -5"),
        (["--seed", str(2**32)], "--seed: a seed must be an integer in [0, 2**32 - 1]"),
        (["--sequences", "3"], "--sequences: must be an integer >= 4, got 3"),
        (["--phase1-epochs", "-1"], "--phase1-epochs: must be an integer >= 0, got -1"),
        (["--phase3-epochs", "two"], "--phase3-epochs: not an integer: 'two'"),
    ],
)
def test_nonsense_numbers_are_usage_errors(tmp_path, capsys, extra, message):
    save = tmp_path / "system.pt"
    with pytest.raises(SystemExit) as exc:
        main(["leworld", "train", "--save", str(save), *extra])
    assert exc.value.code == 2 and message in capsys.readouterr().err
    assert not save.exists()


def test_all_phases_at_zero_epochs_is_refused(tmp_path, capsys):
    save = tmp_path / "system.pt"
    zeros = ["--phase1-epochs", "0", "--phase2-epochs", "0", "--phase3-epochs", "0"]
    assert main(["leworld", "train", "--save", str(save), *zeros]) == 2
    captured = capsys.readouterr()
    assert "nothing would be trained" in captured.err and "MSE" not in captured.out
    assert not save.exists()


def test_save_under_a_regular_file_is_refused_before_training(tmp_path, capsys):
    (tmp_path / "blocker").write_text("a regular file")
    with pytest.raises(SystemExit) as exc:
        main(["leworld", "train", "--save", str(tmp_path / "blocker" / "system.pt")])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "argument --save: cannot write" in err and "is not a directory" in err
    assert [p.name for p in tmp_path.iterdir()] == ["blocker"]
