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


def test_cli_source_without_bundled_data_is_a_clear_error():
    with pytest.raises(SystemExit, match="no PMI data is bundled"):
        main(["canvas", "train", "--sources", "pmi", "--quiet"])


def test_macro_forecast_has_no_look_ahead():
    """Changing data from 2005Q1 on must not change any forecast of an earlier quarter, and
    the model (trained on pre-2000 data only) must still see the new lagged values after."""
    from wmverse.canvas.adapters import fred_adapter
    from wmverse.canvas.forecast import ForecastConfig, run_macro_forecast

    cfg = ForecastConfig(n_steps=4, seeds=(0,))
    spec, data = fred_adapter()
    base = run_macro_forecast(cfg, source=(spec, data))["predictions"]
    changed = data.copy()
    changed.loc["2005-01-01":, ["infl", "unemp", "tbilrate"]] += 5.0
    alt = run_macro_forecast(cfg, source=(spec, changed))["predictions"]
    early = base.index < "2005-01-01"
    cols = ["infl_canvas", "unemp_canvas", "infl_ar1", "unemp_ar1"]
    assert (base.loc[early, cols] == alt.loc[early, cols]).all().all()
    assert (base.loc["2005-04-01":, "unemp_canvas"] != alt.loc["2005-04-01":, "unemp_canvas"]).all()


def test_cli_forecast_diffusion_method(capsys):
    assert (
        main(["canvas", "forecast", "--steps", "2", "--seeds", "0", "--method", "diffusion", "--quiet"]) == 0
    )
    assert "canvas method: diffusion" in capsys.readouterr().out
