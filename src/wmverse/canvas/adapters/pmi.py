"""ISM PMI surveys: a CSV export (``Date,PMI,New Orders,...``) or the DBnomics ISM series."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from wmverse.canvas.adapters._common import (
    AdapterError,
    PathLike,
    as_paths,
    clip_dates,
    finish,
    http_json,
    numeric,
    parse_dates,
    read_csv,
    tidy,
)
from wmverse.canvas.schema import Schema
from wmverse.canvas.specs import DatasetSpec, InputSpec, OutputSpec

#: ISM column header -> schema field
PMI_COLUMNS: dict[str, str] = {
    "PMI": "business.pmi.manufacturing.headline",
    "New Orders": "business.pmi.manufacturing.new_orders",
    "Production": "business.pmi.manufacturing.production",
    "Employment": "business.pmi.manufacturing.employment",
    "Supplier Deliveries": "business.pmi.manufacturing.supplier_deliveries",
    "Inventories": "business.pmi.manufacturing.inventories",
    "Prices": "business.pmi.manufacturing.prices",
    "Services PMI": "business.pmi.services.headline",
}

#: DBnomics ISM series code -> ISM column header
DBNOMICS_SERIES = {
    "pmi/pm": "PMI",
    "neword/in": "New Orders",
    "production/in": "Production",
    "employment/in": "Employment",
    "prices/in": "Prices",
}


def read_pmi_csv(path: PathLike) -> pd.DataFrame:
    """An ISM table: a ``Date`` column (``2020-01-01`` or ``Jan 2020``) and diffusion indices in [0, 100]."""
    raw = read_csv(path, dtype=str)
    raw.columns = [c.strip() for c in raw.columns]
    if "Date" not in raw.columns:
        raise AdapterError(f"{path}: ISM PMI CSV needs a 'Date' column, got {list(raw.columns)}")
    cols = [c for c in raw.columns if c in PMI_COLUMNS]
    unknown = [c for c in raw.columns if c not in PMI_COLUMNS and c != "Date"]
    if not cols:
        raise AdapterError(f"{path}: no ISM index column; expected some of {list(PMI_COLUMNS)}")
    if unknown:
        raise AdapterError(f"{path}: unknown ISM columns {unknown}; expected some of {list(PMI_COLUMNS)}")
    frame = numeric(raw, cols, str(path), missing=("", "NA"))
    frame.index = parse_dates(raw["Date"], str(path)).to_period("M").to_timestamp()
    bad = (frame < 0) | (frame > 100)
    if bad.any().any():
        raise AdapterError(
            f"{path}: diffusion indices must lie in [0, 100]; {frame[bad].stack().iloc[0]} does not"
        )
    return tidy(frame, str(path))


def pmi_adapter(
    paths: PathLike | Sequence[PathLike] | None = None,
    online: bool = False,
    start_date: str | None = None,
    end_date: str | None = None,
    schema: Schema | None = None,
) -> tuple[DatasetSpec, pd.DataFrame]:
    """Return ``(DatasetSpec, data)`` for ISM PMI surveys (monthly).

    Source: ``paths`` (ISM CSV tables, outer-joined on month); else DBnomics' ISM series
    when ``online=True``. No bundled PMI data exists, so one of the two is required.
    """
    if paths is not None:
        frames = [read_pmi_csv(p) for p in as_paths(paths, (".csv",))]
        data = pd.concat(frames, axis=1, join="outer", sort=True).sort_index()
        if data.columns.has_duplicates:
            raise AdapterError("an ISM column appears in two files")
    elif online:
        cols = {}
        for code, header in DBNOMICS_SERIES.items():
            answer = http_json(f"https://api.db.nomics.world/v22/series/ISM/{code}", {"observations": 1})
            try:
                doc = answer["series"]["docs"][0]
                s = pd.Series(doc["value"], index=parse_dates(pd.Series(doc["period"]), f"DBnomics {code}"))
            except (KeyError, IndexError, TypeError) as exc:
                raise AdapterError(f"DBnomics answer for ISM/{code} is malformed ({exc})") from None
            cols[header] = pd.to_numeric(s, errors="coerce")
        data = pd.DataFrame(cols).sort_index()
    else:
        raise AdapterError(
            "pmi_adapter needs paths=... (ISM CSV files) or online=True; no PMI data is bundled"
        )
    inputs = [InputSpec(c, f"ISM {c} index", PMI_COLUMNS[c], frequency_hint="monthly") for c in data.columns]
    outputs = [OutputSpec(s.key, s.semantic_type, s.field_path) for s in inputs]
    return finish(DatasetSpec("ISM-PMI", inputs, outputs), clip_dates(data, start_date, end_date), schema)
