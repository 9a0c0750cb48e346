import math

import numpy as np
import pandas as pd
import pytest

from wmverse.canvas.schema import FieldDef, PeriodClass, Schema, SchemaError, default_schema
from wmverse.canvas.specs import DatasetSpec, InputSpec, OutputSpec, SpecError


def test_default_schema_has_layers_and_periods():
    s = default_schema()
    assert "country_us.macro.inflation.headline_cpi" in s
    layers = s.layers()
    assert len(layers) >= 8
    assert s["country_us.macro.labor.unemployment_rate"].period is PeriodClass.MONTHLY
    assert len(list(PeriodClass)) == 8


def test_unknown_path_error_names_it_and_siblings():
    with pytest.raises(
        SchemaError, match="unknown field path 'country_us.macro.inflation.nope'.*headline_cpi"
    ):
        default_schema()["country_us.macro.inflation.nope"]


def test_extend_rejects_duplicates_and_bad_paths():
    s = Schema([FieldDef("a.b.c", "x", PeriodClass.DAILY)])
    with pytest.raises(SchemaError, match="duplicate"):
        s.extend([FieldDef("a.b.c", "y", PeriodClass.DAILY)])
    with pytest.raises(SchemaError, match="invalid field path"):
        s.extend([FieldDef("a.B", "y", PeriodClass.DAILY)])
    s.extend([FieldDef("a.b.d", "y", PeriodClass.ANNUAL)])
    assert s.paths == ["a.b.c", "a.b.d"]


def test_bind_projects_selection_onto_grid():
    s = default_schema()
    b = s.bind(["country_us.macro.labor", "financial.equities.*.log_return"])
    assert b.paths[0].startswith("country_us.macro.labor")
    assert all(p.endswith("log_return") for p in b.paths[3:])
    assert b.position(b.paths[4]) == 4
    rows, cols = b.grid_shape
    assert rows * cols >= b.n_fields and cols == math.ceil(math.sqrt(b.n_fields))
    with pytest.raises(SchemaError, match="not on this canvas"):
        b.position("country_us.macro.inflation.headline_cpi")
    with pytest.raises(SchemaError, match="matches no field"):
        s.bind(["nothing.here"])


def test_noise_scale_is_inverse_one_plus_log_period():
    assert PeriodClass.DAILY.noise_scale == 1.0
    assert PeriodClass.INTRADAY.noise_scale == 1.0
    assert PeriodClass.QUARTERLY.noise_scale == pytest.approx(1 / (1 + math.log(91)))
    scales = [p.noise_scale for p in PeriodClass]
    assert scales == sorted(scales, reverse=True)


def _spec(**over):
    inp = [
        InputSpec("cpi", "CPI", "country_us.macro.inflation.headline_cpi", **over),
        InputSpec("u", "unemployment", "country_us.macro.labor.unemployment_rate"),
    ]
    return DatasetSpec(
        "t", inp, [OutputSpec("cpi", "CPI", "country_us.macro.inflation.headline_cpi", loss_weight=2.0)]
    )


def _frame(cpi=(1.0, 2.0, 3.0)):
    idx = pd.date_range("2000-01-01", periods=len(cpi), freq="MS")
    return pd.DataFrame({"cpi": list(cpi), "u": [5.0] * len(cpi)}, index=idx)


def test_spec_validation_errors():
    s = default_schema()
    _spec().validate(s, _frame())
    bad = DatasetSpec("t", [InputSpec("x", "x", "country_us.macro.inflation.nope")])
    with pytest.raises(SpecError, match="unknown field path"):
        bad.validate(s)
    dup = DatasetSpec(
        "t",
        [
            InputSpec("x", "a", "country_us.macro.inflation.headline_cpi"),
            InputSpec("x", "b", "country_us.macro.labor.unemployment_rate"),
        ],
    )
    with pytest.raises(SpecError, match="duplicate input key 'x'"):
        dup.validate(s)
    with pytest.raises(SpecError, match="dtype"):
        _spec().validate(s, _frame().assign(cpi=["a", "b", "c"]))
    with pytest.raises(SpecError, match="NaN values and nan_policy='error'"):
        _spec(nan_policy="error").validate(s, _frame(cpi=(1.0, np.nan, 3.0)))
    with pytest.raises(SpecError, match="nan_policy 'drop'"):
        _spec(nan_policy="drop").validate(s)
    with pytest.raises(SpecError, match="hinted daily"):
        _spec(frequency_hint="daily").validate(s, _frame())
    with pytest.raises(SpecError, match="missing from data"):
        _spec().validate(s, _frame().drop(columns=["u"]))
    neg = _spec()
    neg.output_specs[0].loss_weight = -1.0
    with pytest.raises(SpecError, match="loss_weight"):
        neg.validate(s)
    with pytest.raises(SpecError, match="DatetimeIndex"):
        _spec().validate(s, _frame().reset_index(drop=True))
