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


def test_cli_rejects_unknown_source(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["canvas", "train", "--sources", "bloomberg", "--quiet"])
    assert exc.value.code == 2 and "unknown source 'bloomberg'" in capsys.readouterr().err


def test_cli_source_without_bundled_data_is_a_clear_error(capsys):
    assert main(["canvas", "train", "--sources", "pmi", "--quiet"]) == 2
    assert "no PMI data is bundled" in capsys.readouterr().err


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


def _usage_error(argv, capsys) -> str:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    return capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--steps", "0"], "--steps: must be an integer >= 1, got 0"),
        (["--window", "0"], "--window: must be an integer in [2, 64], got 0"),
        (["--window", "1"], "--window: must be an integer in [2, 64], got 1"),
        (["--threads", "0"], "--threads: must be an integer >= 1, got 0"),
        (["--seeds", "0", "-5"], "--seeds: a seed must be an integer in [0, 2**32 - 1], got -5"),
    ],
)
def test_forecast_nonsense_numbers_are_usage_errors(tmp_path, capsys, extra, message):
    csv = tmp_path / "p.csv"
    assert message in _usage_error(["canvas", "forecast", "--quiet", "--csv", str(csv), *extra], capsys)
    assert not csv.exists()


@pytest.mark.parametrize(
    ("start", "message"),
    [
        ("banana", "--test-start 'banana' is not a date"),
        ("1900-01-01", "leaves 0 quarters of the data (1959-01-01..2009-07-01) before it"),
        ("1959-07-01", "leaves 2 quarters of the data"),
        ("2030-01-01", "is after the data (1959-01-01..2009-07-01): nothing is left to forecast"),
    ],
)
def test_forecast_test_start_outside_the_data_is_refused_before_training(tmp_path, capsys, start, message):
    csv = tmp_path / "p.csv"
    argv = ["canvas", "forecast", "--steps", "1", "--seeds", "0", "--quiet", "--csv", str(csv)]
    rc = main([*argv, "--test-start", start])
    captured = capsys.readouterr()
    assert rc == 2 and message in captured.err and "Traceback" not in captured.err
    assert "RMSE" not in captured.out and not csv.exists()


def test_forecast_csv_under_a_regular_file_is_refused(tmp_path, capsys):
    (tmp_path / "blocker").write_text("a regular file")
    err = _usage_error(
        ["canvas", "forecast", "--quiet", "--csv", str(tmp_path / "blocker" / "p.csv")], capsys
    )
    assert "argument --csv: cannot write" in err and "is not a directory" in err
    assert [p.name for p in tmp_path.iterdir()] == ["blocker"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--steps", "0"], "--steps: must be an integer >= 1, got 0"),
        (["--steps", "-1"], "--steps: must be an integer >= 1, got -1"),
        (["--batch-size", "0"], "--batch-size: must be an integer >= 1, got 0"),
        (["--window", "0"], "--window: must be an integer in [1, 64], got 0"),
        (["--window", "65"], "--window: must be an integer in [1, 64], got 65"),
        (["--d-model", "0"], "--d-model: must be an integer >= 1, got 0"),
        (["--d-model", "30"], "--d-model: must be a multiple of 4"),
        (["--layers", "0"], "--layers: must be an integer >= 1, got 0"),
        (["--seed", "-5"], "--seed: a seed must be an integer in [0, 2**32 - 1], got -5"),
        (["--threads", "0"], "--threads: must be an integer >= 1, got 0"),
        (["--sources", "tabular"], "the tabular source needs a column mapping"),
    ],
)
def test_train_nonsense_values_are_usage_errors(tmp_path, capsys, extra, message):
    out = tmp_path / "m.pt"
    assert message in _usage_error(["canvas", "train", "--quiet", "--out", str(out), *extra], capsys)
    assert not out.exists()


def test_train_out_under_a_regular_file_is_refused(tmp_path, capsys):
    (tmp_path / "blocker").write_text("a regular file")
    err = _usage_error(["canvas", "train", "--quiet", "--out", str(tmp_path / "blocker" / "m.pt")], capsys)
    assert "argument --out: cannot write" in err and "is not a directory" in err
    assert [p.name for p in tmp_path.iterdir()] == ["blocker"]


def test_train_ray_address_without_the_ray_executor_is_refused(capsys):
    assert main(["canvas", "train", "--quiet", "--ray-address", "auto"]) == 2
    assert "--ray-address is only used with --curriculum dag --executor ray" in capsys.readouterr().err


def test_cli_limits_match_the_model_config():
    from wmverse.canvas import cli
    from wmverse.canvas.model import CanvasModelConfig

    assert cli.MAX_WINDOW == CanvasModelConfig().max_time
    assert cli.N_HEADS == CanvasModelConfig().n_heads
