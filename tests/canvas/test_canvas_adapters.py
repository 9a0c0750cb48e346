import json

import numpy as np
import pandas as pd
import pytest

from wmverse.canvas.adapters import (
    AdapterError,
    _common,
    earnings_adapter,
    fred_adapter,
    news_adapter,
    pmi_adapter,
    tabular_adapter,
    yahoo_finance_adapter,
)


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("the network was called")

    monkeypatch.setattr(_common.urllib.request, "urlopen", refuse)


def test_fred_default_is_bundled_macrodata():
    spec, data = fred_adapter()
    assert len(data) == 203 and data.index[0] == pd.Timestamp("1959-01-01")
    assert {"infl", "unemp", "realgdp"} <= set(data.columns)
    assert np.isnan(data["infl"].iloc[0]) and data["unemp"].iloc[0] == 5.8
    paths = {s.key: s.field_path for s in spec.input_specs}
    assert paths["infl"] == "country_us.macro.inflation.headline_cpi"


def test_fred_csv_export(tmp_path):
    (tmp_path / "UNRATE.csv").write_text("DATE,UNRATE\n2020-01-01,3.5\n2020-02-01,.\n2020-03-01,4.4\n")
    (tmp_path / "CPIAUCSL.csv").write_text("observation_date,CPIAUCSL\n2020-01-01,258.7\n2020-03-01,258.1\n")
    spec, data = fred_adapter(tmp_path)
    assert list(data.columns) == ["CPIAUCSL", "UNRATE"]
    assert np.isnan(data.loc["2020-02-01", "UNRATE"]) and data.loc["2020-03-01", "UNRATE"] == 4.4
    assert {s.key: s.transform for s in spec.input_specs}["CPIAUCSL"] == "log_diff"
    (tmp_path / "bad.csv").write_text("when,UNRATE\n2020-01-01,3.5\n")
    with pytest.raises(AdapterError, match="DATE or observation_date"):
        fred_adapter(tmp_path / "bad.csv")
    (tmp_path / "bad2.csv").write_text("DATE,UNRATE\n2020-01-01,abc\n")
    with pytest.raises(AdapterError, match="non-numeric value 'abc'"):
        fred_adapter(tmp_path / "bad2.csv")
    (tmp_path / "bad3.csv").write_text("DATE,XYZ123\n2020-01-01,1\n")
    with pytest.raises(AdapterError, match="no schema mapping"):
        fred_adapter(tmp_path / "bad3.csv")


def test_fred_api_only_with_key(monkeypatch):
    calls = []

    def fake(url, params, timeout=20.0):
        calls.append(params["series_id"])
        return {
            "observations": [{"date": "2020-01-01", "value": "3.5"}, {"date": "2020-02-01", "value": "."}]
        }

    monkeypatch.setattr("wmverse.canvas.adapters.fred.http_json", fake)
    spec, data = fred_adapter(series=["UNRATE"], api_key="k")
    assert calls == ["UNRATE"] and data["UNRATE"].iloc[0] == 3.5 and np.isnan(data["UNRATE"].iloc[1])


YAHOO = "Date,Open,High,Low,Close,Adj Close,Volume\n"


def test_yahoo_csv_and_default(tmp_path):
    (tmp_path / "AAPL.csv").write_text(
        YAHOO + "2020-01-02,74,75,73,75,73.4,135480400\n2020-01-03,74,75,74,74.4,72.7,null\n"
    )
    spec, data = yahoo_finance_adapter(tmp_path)
    assert set(data.columns) == {"AAPL_adjclose", "AAPL_volume", "AAPL_range"}
    assert data["AAPL_range"].iloc[0] == pytest.approx(2 / 75)
    assert np.isnan(data["AAPL_volume"].iloc[1])
    spec, data = yahoo_finance_adapter()
    assert len(data.columns) == 5 and data.index[0] == pd.Timestamp("2000-01-01")
    (tmp_path / "MSFT.csv").write_text("Date,Close\n2020-01-02,1\n")
    with pytest.raises(AdapterError, match="lacks columns"):
        yahoo_finance_adapter(tmp_path / "MSFT.csv")
    (tmp_path / "IBM.csv").write_text(YAHOO + "2020-01-02,74,70,73,75,73.4,1\n")
    with pytest.raises(AdapterError, match="High < Low"):
        yahoo_finance_adapter(tmp_path / "IBM.csv")
    (tmp_path / "ZZZZ.csv").write_text(YAHOO + "2020-01-02,74,75,73,75,73.4,1\n")
    with pytest.raises(AdapterError, match="no schema field"):
        yahoo_finance_adapter(tmp_path / "ZZZZ.csv")


def test_pmi(tmp_path):
    f = tmp_path / "ism.csv"
    f.write_text("Date,PMI,New Orders\n2020-01-01,50.9,52.0\n2020-02-01,50.1,49.8\n2020-03-01,49.1,42.2\n")
    spec, data = pmi_adapter(f)
    assert data.loc["2020-03-01", "New Orders"] == 42.2
    assert {s.field_path for s in spec.input_specs} == {
        "business.pmi.manufacturing.headline",
        "business.pmi.manufacturing.new_orders",
    }
    f.write_text("Date,PMI\n2020-01-01,150\n")
    with pytest.raises(AdapterError, match=r"\[0, 100\]"):
        pmi_adapter(f)
    f.write_text("Date,Mood\n2020-01-01,1\n")
    with pytest.raises(AdapterError, match="no ISM index column"):
        pmi_adapter(f)
    with pytest.raises(AdapterError, match="no PMI data is bundled"):
        pmi_adapter()


def test_earnings_json_and_csv(tmp_path):
    rows = [
        {
            "fiscalDateEnding": "2020-03-31",
            "reportedDate": "2020-04-20",
            "reportedEPS": "1.78",
            "estimatedEPS": "1.8",
            "surprise": "-0.02",
            "surprisePercentage": "-1.1",
        },
        {
            "fiscalDateEnding": "2020-06-30",
            "reportedDate": "2020-07-20",
            "reportedEPS": "2.18",
            "estimatedEPS": "None",
            "surprise": "None",
            "surprisePercentage": "None",
        },
    ]
    (tmp_path / "ibm.json").write_text(json.dumps({"symbol": "IBM", "quarterlyEarnings": rows}))
    spec, data = earnings_adapter([tmp_path / "ibm.json"])
    assert data.index[0] == pd.Timestamp("2020-04-20")  # indexed by report date (no look-ahead)
    assert data["ibm_reported_eps"].tolist() == [1.78, 2.18] and np.isnan(data["ibm_estimated_eps"].iloc[1])
    pd.DataFrame(rows).to_csv(tmp_path / "aapl.csv", index=False)
    spec, data = earnings_adapter({"aapl": tmp_path / "aapl.csv"})
    assert "corporate.earnings.aapl.surprise_pct" in {s.field_path for s in spec.input_specs}
    (tmp_path / "bad.json").write_text(json.dumps({"symbol": "IBM", "annualEarnings": []}))
    with pytest.raises(AdapterError, match="quarterlyEarnings"):
        earnings_adapter([tmp_path / "bad.json"])
    pd.DataFrame(rows).drop(columns=["reportedDate"]).to_csv(tmp_path / "ibm.csv", index=False)
    with pytest.raises(AdapterError, match="reportedDate"):
        earnings_adapter({"ibm": tmp_path / "ibm.csv"})


def test_news_csv_and_jsonl(tmp_path):
    f = tmp_path / "news.csv"
    f.write_text(
        "date,title\n2020-01-01,Stocks rally on record profits\n2020-01-01,Recession fears grow\n"
        "2020-01-03,Markets drop\n"
    )
    spec, data = news_adapter(f)
    assert list(data.index) == list(pd.date_range("2020-01-01", "2020-01-03"))
    assert data.loc["2020-01-01", "count"] == pytest.approx(np.log1p(2))
    assert np.isnan(data.loc["2020-01-02", "count"])  # no news that day: absent, not zero
    assert data.loc["2020-01-03", "tone"] < 0
    j = tmp_path / "news.jsonl"
    j.write_text(json.dumps({"date": "2020-01-01", "headline": "Profits surge"}) + "\n")
    assert news_adapter(j)[1]["tone"].iloc[0] > 0
    j.write_text("{not json}\n")
    with pytest.raises(AdapterError, match="invalid JSON line"):
        news_adapter(j)
    f.write_text("date,body\n2020-01-01,x\n")
    with pytest.raises(AdapterError, match="'date' and 'title'"):
        news_adapter(f)


def test_tabular_csv_and_parquet(tmp_path):
    frame = pd.DataFrame(
        {"date": ["2020-01-01", "2020-02-01", "2020-03-01"], "cpi": [1.0, 2.0, 3.0], "other": 1}
    )
    frame.to_csv(tmp_path / "t.csv", index=False)
    frame.to_parquet(tmp_path / "t.parquet")
    mapping = {"cpi": "country_us.macro.inflation.headline_cpi"}
    for name in ("t.csv", "t.parquet"):
        spec, data = tabular_adapter(tmp_path / name, mapping, loss_weights={"cpi": 3.0})
        assert data["cpi"].tolist() == [1.0, 2.0, 3.0] and spec.output_specs[0].loss_weight == 3.0
    with pytest.raises(AdapterError, match="time column 'when'"):
        tabular_adapter(tmp_path / "t.csv", mapping, time_column="when")
    with pytest.raises(AdapterError, match="mapped columns"):
        tabular_adapter(tmp_path / "t.csv", {"zzz": "country_us.macro.inflation.headline_cpi"})
    (tmp_path / "t.xlsx").write_text("x")
    with pytest.raises(AdapterError, match="unsupported table format"):
        tabular_adapter(tmp_path / "t.xlsx", mapping)
    (tmp_path / "bad.parquet").write_text("not parquet")
    with pytest.raises(AdapterError, match="Parquet"):
        tabular_adapter(tmp_path / "bad.parquet", mapping)
    frame.assign(date=["2020-01-01", "2020-01-01", "2020-03-01"]).to_csv(tmp_path / "d.csv", index=False)
    with pytest.raises(AdapterError, match="duplicate timestamp"):
        tabular_adapter(tmp_path / "d.csv", mapping)
