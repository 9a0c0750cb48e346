import json

import pytest

from wmverse.cli import main


def test_train_cli_with_labels_log_and_model(sample_path, labels_path, tmp_path, capsys):
    out = tmp_path / "mara.json"
    log = tmp_path / "log.json"
    code = main(
        [
            "debate",
            "train",
            str(sample_path),
            "--name",
            "Mara",
            "--labels",
            str(labels_path),
            "--epochs",
            "2",
            "--judge",
            "lexical",
            "--seed",
            "1",
            "--log-json",
            str(log),
            "--out",
            str(out),
        ]
    )
    text = capsys.readouterr().out
    assert code == 0
    assert "EPOCH 1 (lr=0.150)" in text and "[epoch 2/2]" in text
    assert "Final allocations:" in text and "Validation:" in text and "/28 held-out" in text
    assert json.loads(log.read_text())["config"]["seed"] == 1
    assert json.loads(out.read_text())["name"] == "Mara"
    code = main(["debate", "predict", str(out), "She checked the smoke alarms.", "He read about comets."])
    lines = capsys.readouterr().out.splitlines()
    assert code == 0 and len(lines) == 2 and lines[0].endswith("She checked the smoke alarms.")


def test_train_cli_reports_bad_files(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text('{"observations": [{"id": "x"}]}')
    assert main(["debate", "train", str(bad), "--name", "X", "--judge", "lexical"]) == 2
    err = capsys.readouterr().err
    assert "bad.json" in err and "missing field 'content'" in err
    with pytest.raises(SystemExit) as exc:
        main(["debate", "train", str(bad), "--name", "X", "--judge", "lexical", "--epochs", "0"])
    assert exc.value.code == 2 and "--epochs: must be an integer >= 1, got 0" in capsys.readouterr().err


def test_quiet_cli_without_labels_reports_agreement(sample_path, capsys):
    assert (
        main(
            [
                "debate",
                "train",
                str(sample_path),
                "--name",
                "M",
                "--judge",
                "lexical",
                "--epochs",
                "1",
                "--quiet",
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert "EPOCH" not in text and "agreement" in text


def _train_args(observations, *extra: str) -> list[str]:
    return [
        "debate",
        "train",
        str(observations),
        "--name",
        "M",
        "--judge",
        "lexical",
        "--epochs",
        "1",
        *extra,
    ]


def test_labels_matching_no_observation_id_are_refused_before_training(sample_path, tmp_path, capsys):
    labels = tmp_path / "wrong_labels.json"
    labels.write_text('{"zzz-1": "curiosity", "zzz-2": "autonomy"}')
    out = tmp_path / "m.json"
    assert main(_train_args(sample_path, "--labels", str(labels), "--out", str(out))) == 2
    captured = capsys.readouterr()
    assert "wrong_labels.json" in captured.err and "no label matches an observation id" in captured.err
    assert "Training" not in captured.out and not out.exists()


def test_partly_matching_labels_say_how_many_matched(sample_path, tmp_path, capsys):
    labels = tmp_path / "labels.json"
    labels.write_text('{"mara-001": "curiosity", "mara-002": "autonomy", "zzz-1": "curiosity"}')
    assert main(_train_args(sample_path, "--labels", str(labels), "--quiet")) == 0
    assert "labels: 2 of 3 labels match an observation id" in capsys.readouterr().out


def test_one_observation_is_a_clear_error(tmp_path, capsys):
    one = tmp_path / "one.json"
    one.write_text('["Only one thing happened."]')
    assert main(_train_args(one)) == 2
    err = capsys.readouterr().err
    assert "one.json" in err and "at least 2 observations" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("flag", "target"),
    [("--out", "blocker/m.json"), ("--log-json", "blocker/log.json"), ("--tensorboard", "blocker")],
)
def test_unwritable_outputs_are_refused_before_training(sample_path, tmp_path, capsys, flag, target):
    """A parent that is a regular file stops even root (permission bits would not)."""
    (tmp_path / "blocker").write_text("a regular file")
    with pytest.raises(SystemExit) as exc:
        main(_train_args(sample_path, flag, str(tmp_path / target)))
    captured = capsys.readouterr()
    assert exc.value.code == 2 and f"argument {flag}: cannot write" in captured.err
    assert "Training" not in captured.out
    assert [p.name for p in tmp_path.iterdir()] == ["blocker"]


def test_out_over_an_input_file_is_refused(sample_path, tmp_path, capsys):
    copy = tmp_path / "obs.json"
    copy.write_text(sample_path.read_text())
    before = copy.read_text()
    assert main(_train_args(copy, "--out", str(copy))) == 2
    assert "is an input file" in capsys.readouterr().err and copy.read_text() == before


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--seed", "-5"], "--seed: a seed must be an integer in [0, 2**32 - 1], got -5"),
        (["--seed", str(2**32)], f"--seed: a seed must be an integer in [0, 2**32 - 1], got {2**32}"),
        (["--seed", "x"], "--seed: not an integer: 'x'"),
        (["--epochs", "-3"], "--epochs: must be an integer >= 1, got -3"),
        (["--validation-split", "nan"], "--validation-split: must be a number in [0, 1), got nan"),
        (["--validation-split", "1"], "--validation-split: must be a number in [0, 1), got 1"),
        (["--validation-split", "-0.1"], "--validation-split: must be a number in [0, 1), got -0.1"),
    ],
)
def test_nonsense_numbers_are_usage_errors(sample_path, tmp_path, capsys, extra, message):
    out = tmp_path / "m.json"
    with pytest.raises(SystemExit) as exc:
        main(_train_args(sample_path, *extra, "--out", str(out)))
    assert exc.value.code == 2 and message in capsys.readouterr().err
    assert not out.exists()
