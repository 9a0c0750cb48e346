import json

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
    assert main(["debate", "train", str(bad), "--name", "X", "--judge", "lexical", "--epochs", "0"]) == 2


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
