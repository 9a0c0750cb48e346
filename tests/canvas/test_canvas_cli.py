import pytest

from wmverse.cli import main


def test_cli_train_seq_and_save(tmp_path, capsys):
    out = tmp_path / "m.pt"
    rc = main(
        [
            "canvas",
            "train",
            "--steps",
            "2",
            "--window",
            "4",
            "--batch-size",
            "4",
            "--d-model",
            "16",
            "--layers",
            "1",
            "--quiet",
            "--out",
            str(out),
        ]
    )
    assert rc == 0 and out.exists()
    text = capsys.readouterr().out
    assert "canvas: 16 fields" in text and "phase 2:" in text


def test_cli_forecast_prints_rmse_table(capsys, tmp_path):
    csv = tmp_path / "p.csv"
    rc = main(["canvas", "forecast", "--steps", "3", "--seeds", "0", "--quiet", "--csv", str(csv)])
    assert rc == 0
    text = capsys.readouterr().out
    assert "held-out 2000-01..2009-07 (39 quarters)" in text
    for row in ("random walk", "AR(1)", "canvas (ours)"):
        assert row in text
    assert csv.read_text().count("\n") == 40


def test_cli_rejects_unknown_source():
    with pytest.raises(SystemExit, match="unknown source"):
        main(["canvas", "train", "--sources", "bloomberg", "--quiet"])
