"""The typed world schema: field paths, their meaning and their period, and the bound canvas.

A *field* is one scalar quantity of the world, named by a dotted path such as
``country_us.macro.inflation.headline_cpi``. Every field carries a semantic description
(used to build its identity embedding) and a :class:`PeriodClass` (how slowly it moves;
slow fields receive less diffusion noise). Fields are grouped in *layers*: the first two
path components (``country_us.macro``, ``financial.equities``, ...).

:func:`default_schema` builds the shipped schema; :meth:`Schema.extend` adds fields.
:meth:`Schema.bind` projects a selection of fields onto a canvas and returns a
:class:`BoundSchema`, the fixed field -> canvas-position layout that models and datasets
share.
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum


class SchemaError(ValueError):
    """A field path or schema operation is invalid."""


class PeriodClass(Enum):
    """Temporal-frequency classes; the value is the characteristic period in days."""

    INTRADAY = 0.25
    DAILY = 1.0
    WEEKLY = 7.0
    MONTHLY = 30.0
    QUARTERLY = 91.0
    ANNUAL = 365.0
    DECADAL = 3650.0
    STATIC = 36500.0

    @property
    def days(self) -> float:
        return float(self.value)

    @property
    def noise_scale(self) -> float:
        """Diffusion noise multiplier ``1 / (1 + log(period))``; periods below a day count as one."""
        return 1.0 / (1.0 + math.log(max(self.days, 1.0)))

    @classmethod
    def parse(cls, value: PeriodClass | str) -> PeriodClass:
        """Accept a member or its case-insensitive name (``"quarterly"``)."""
        if isinstance(value, PeriodClass):
            return value
        try:
            return cls[str(value).upper()]
        except KeyError:
            names = ", ".join(m.name.lower() for m in cls)
            raise SchemaError(f"unknown period class {value!r}; expected one of: {names}") from None


@dataclass(frozen=True)
class FieldDef:
    """One scalar field of the world."""

    path: str
    """Dotted path, lowercase ``[a-z0-9_]`` components, at least three of them."""
    description: str
    """What the number means, in words (feeds the semantic field embedding)."""
    period: PeriodClass
    """How fast the quantity moves."""
    unit: str = ""
    """Unit of the raw value, for humans."""

    @property
    def layer(self) -> str:
        """The first two path components, e.g. ``country_us.macro``."""
        return ".".join(self.path.split(".")[:2])

    @property
    def domain(self) -> str:
        """The first three path components, e.g. ``country_us.macro.inflation``."""
        return ".".join(self.path.split(".")[:3])


def _check_path(path: str) -> None:
    parts = path.split(".")
    if len(parts) < 3 or not all(
        p and all(c.isalnum() or c == "_" for c in p) and p == p.lower() for p in parts
    ):
        raise SchemaError(
            f"invalid field path {path!r}: need >= 3 dot-separated lowercase [a-z0-9_] components"
        )


class Schema:
    """An ordered, extensible set of :class:`FieldDef`, addressed by path."""

    def __init__(self, fields: Iterable[FieldDef] = ()) -> None:
        self._fields: dict[str, FieldDef] = {}
        self.extend(fields)

    def extend(self, fields: Iterable[FieldDef]) -> Schema:
        """Add fields (in place, returns self); a duplicate path is an error."""
        for f in fields:
            _check_path(f.path)
            if f.path in self._fields:
                raise SchemaError(f"duplicate field path {f.path!r}")
            self._fields[f.path] = f
        return self

    def __contains__(self, path: object) -> bool:
        return path in self._fields

    def __getitem__(self, path: str) -> FieldDef:
        try:
            return self._fields[path]
        except KeyError:
            close = [p for p in self._fields if p.rsplit(".", 1)[0] == path.rsplit(".", 1)[0]][:5]
            hint = f"; fields in that group: {close}" if close else ""
            raise SchemaError(f"unknown field path {path!r}{hint}") from None

    def __len__(self) -> int:
        return len(self._fields)

    @property
    def paths(self) -> list[str]:
        return list(self._fields)

    def layers(self) -> dict[str, list[str]]:
        """Layer name -> its field paths, in schema order."""
        out: dict[str, list[str]] = {}
        for f in self._fields.values():
            out.setdefault(f.layer, []).append(f.path)
        return out

    def select(self, patterns: Sequence[str]) -> list[str]:
        """Paths matching any pattern: an exact path, a prefix (``financial.equities``) or a glob."""
        chosen: list[str] = []
        for pat in patterns:
            hits = [
                p for p in self._fields if p == pat or p.startswith(pat + ".") or fnmatch.fnmatchcase(p, pat)
            ]
            if not hits:
                raise SchemaError(f"pattern {pat!r} matches no field of the schema")
            chosen.extend(h for h in hits if h not in chosen)
        return chosen

    def bind(self, patterns: Sequence[str] | None = None, canvas_width: int | None = None) -> BoundSchema:
        """Project the selected fields (all when ``patterns`` is None) onto a canvas."""
        paths = self.paths if patterns is None else self.select(patterns)
        return BoundSchema([self._fields[p] for p in paths], canvas_width=canvas_width)


@dataclass
class BoundSchema:
    """A fixed layout of fields on the canvas: position ``i`` holds ``fields[i]``.

    The canvas is a ``height x width`` grid filled row-major, layer by layer (fields of one
    layer are contiguous), so that spatial neighbourhoods follow the schema's structure.
    """

    fields: list[FieldDef]
    """Fields in canvas order."""
    canvas_width: int | None = None
    """Grid width; ``ceil(sqrt(n))`` when None."""
    index: dict[str, int] = field(init=False)
    """Field path -> canvas position."""

    def __post_init__(self) -> None:
        if not self.fields:
            raise SchemaError("a bound schema needs at least one field")
        self.index = {f.path: i for i, f in enumerate(self.fields)}
        if len(self.index) != len(self.fields):
            raise SchemaError("a bound schema cannot hold the same field twice")
        if self.canvas_width is None:
            self.canvas_width = max(1, math.ceil(math.sqrt(len(self.fields))))

    @property
    def n_fields(self) -> int:
        return len(self.fields)

    @property
    def paths(self) -> list[str]:
        return [f.path for f in self.fields]

    @property
    def grid_shape(self) -> tuple[int, int]:
        w = int(self.canvas_width or 1)
        return (math.ceil(self.n_fields / w), w)

    def position(self, path: str) -> int:
        """Canvas position of ``path``; a clear error if the field is not bound."""
        try:
            return self.index[path]
        except KeyError:
            raise SchemaError(f"field path {path!r} is not on this canvas") from None

    def grid_coords(self) -> list[tuple[int, int]]:
        """``(row, col)`` of every position."""
        w = int(self.canvas_width or 1)
        return [(i // w, i % w) for i in range(self.n_fields)]

    def noise_scales(self) -> list[float]:
        """Per-position diffusion noise multiplier from each field's period."""
        return [f.period.noise_scale for f in self.fields]

    def positions_for(self, patterns: Sequence[str]) -> list[int]:
        """Positions whose path matches any prefix or glob in ``patterns``."""
        out = [
            i
            for i, f in enumerate(self.fields)
            if any(
                f.path == p or f.path.startswith(p + ".") or fnmatch.fnmatchcase(f.path, p) for p in patterns
            )
        ]
        if not out:
            raise SchemaError(f"patterns {list(patterns)} match no field on this canvas")
        return out


def _f(path: str, description: str, period: str, unit: str = "") -> FieldDef:
    return FieldDef(path, description, PeriodClass.parse(period), unit)


_TICKERS = {
    "msft": "Microsoft",
    "amzn": "Amazon",
    "ibm": "IBM",
    "goog": "Alphabet (Google)",
    "aapl": "Apple",
    "spx": "S&P 500 index",
}


def default_schema() -> Schema:
    """The shipped schema: US macro, rates, German inflation/rates, equities, FX, commodities, PMI,
    earnings, news."""
    fs: list[FieldDef] = [
        # country_us.macro
        _f(
            "country_us.macro.output.gdp_nowcast",
            "US real GDP growth, annualised quarterly rate",
            "quarterly",
            "%",
        ),
        _f(
            "country_us.macro.output.real_gdp_level",
            "US real GDP level, chained dollars",
            "quarterly",
            "bn USD",
        ),
        _f(
            "country_us.macro.output.industrial_production",
            "US industrial production index growth",
            "monthly",
            "%",
        ),
        _f(
            "country_us.macro.consumption.real_consumption",
            "US real personal consumption growth",
            "quarterly",
            "%",
        ),
        _f("country_us.macro.consumption.retail_sales", "US retail sales growth", "monthly", "%"),
        _f(
            "country_us.macro.investment.real_investment",
            "US real gross private investment growth",
            "quarterly",
            "%",
        ),
        _f("country_us.macro.fiscal.real_government", "US real government spending growth", "quarterly", "%"),
        _f(
            "country_us.macro.income.real_disposable_income",
            "US real disposable income growth",
            "quarterly",
            "%",
        ),
        _f("country_us.macro.inflation.headline_cpi", "US CPI inflation, annualised rate", "monthly", "%"),
        _f("country_us.macro.inflation.cpi_level", "US consumer price index level", "monthly", "index"),
        _f("country_us.macro.inflation.core_pce", "US core PCE price inflation", "monthly", "%"),
        _f("country_us.macro.labor.unemployment_rate", "US civilian unemployment rate", "monthly", "%"),
        _f("country_us.macro.labor.payrolls", "US nonfarm payrolls growth", "monthly", "%"),
        _f("country_us.macro.labor.initial_claims", "US initial jobless claims", "weekly", "count"),
        _f("country_us.macro.money.m1", "US M1 money stock growth", "monthly", "%"),
        _f("country_us.macro.demographics.population", "US population growth", "annual", "%"),
        _f("country_us.macro.housing.housing_starts", "US housing starts", "monthly", "k units"),
        # country_us.rates
        _f("country_us.rates.policy.fed_funds", "Effective federal funds rate", "daily", "%"),
        _f("country_us.rates.bills.tbill_3m", "3-month Treasury bill rate", "daily", "%"),
        _f("country_us.rates.real.real_rate", "Ex-post real interest rate", "quarterly", "%"),
        _f("country_us.rates.yields.y2", "2-year Treasury yield", "daily", "%"),
        _f("country_us.rates.yields.y10", "10-year Treasury yield", "daily", "%"),
        _f("country_us.rates.spreads.term_10y2y", "10y minus 2y Treasury term spread", "daily", "%"),
        _f("country_us.rates.spreads.baa_credit", "BAA corporate minus 10y Treasury spread", "daily", "%"),
        # country_de (statsmodels' German interest/inflation data)
        _f("country_de.macro.inflation.gdp_deflator", "German GDP deflator inflation", "quarterly", "log"),
        _f("country_de.rates.yields.long_rate", "German nominal long-term interest rate", "daily", "frac"),
        # financial.volatility / fx / commodities
        _f("financial.volatility.equity.vix", "CBOE VIX implied volatility index", "daily", "index"),
        _f("financial.fx.usd.dxy", "US dollar index", "daily", "index"),
        _f("financial.fx.usd.eurusd", "EUR/USD exchange rate", "daily", "USD"),
        _f("financial.fx.usd.usdjpy", "USD/JPY exchange rate", "daily", "JPY"),
        _f("financial.commodities.energy.wti", "WTI crude oil price", "daily", "USD/bbl"),
        _f("financial.commodities.metals.gold", "Gold spot price", "daily", "USD/oz"),
        _f("financial.crypto.majors.btc", "Bitcoin price", "intraday", "USD"),
        # business.pmi
        _f("business.pmi.manufacturing.headline", "ISM manufacturing PMI headline index", "monthly", "index"),
        _f("business.pmi.manufacturing.new_orders", "ISM manufacturing new orders index", "monthly", "index"),
        _f("business.pmi.manufacturing.production", "ISM manufacturing production index", "monthly", "index"),
        _f("business.pmi.manufacturing.employment", "ISM manufacturing employment index", "monthly", "index"),
        _f(
            "business.pmi.manufacturing.supplier_deliveries",
            "ISM supplier deliveries index",
            "monthly",
            "index",
        ),
        _f(
            "business.pmi.manufacturing.inventories",
            "ISM manufacturing inventories index",
            "monthly",
            "index",
        ),
        _f("business.pmi.manufacturing.prices", "ISM manufacturing prices paid index", "monthly", "index"),
        _f("business.pmi.services.headline", "ISM services PMI headline index", "monthly", "index"),
    ]
    for sym, name in _TICKERS.items():
        fs.append(
            _f(
                f"financial.equities.{sym}.log_return",
                f"{name} equity log return over the period",
                "daily",
                "log",
            )
        )
        fs.append(_f(f"financial.equities.{sym}.volume", f"{name} traded volume, log", "daily", "log shares"))
        fs.append(
            _f(
                f"financial.equities.{sym}.range",
                f"{name} high-low range relative to close",
                "daily",
                "ratio",
            )
        )
    for sym, name in _TICKERS.items():
        if sym == "spx":
            continue
        fs.append(
            _f(
                f"corporate.earnings.{sym}.reported_eps",
                f"{name} reported earnings per share",
                "quarterly",
                "USD",
            )
        )
        fs.append(
            _f(
                f"corporate.earnings.{sym}.estimated_eps",
                f"{name} consensus estimated EPS",
                "quarterly",
                "USD",
            )
        )
        fs.append(
            _f(
                f"corporate.earnings.{sym}.surprise_pct",
                f"{name} earnings surprise in percent",
                "quarterly",
                "%",
            )
        )
    fs.append(
        _f("news.flow.volume.count", "Number of news headlines in the period, log", "daily", "log count")
    )
    fs.append(_f("news.flow.tone.sentiment", "Mean lexicon sentiment of headlines", "daily", "score"))
    for k in range(8):
        fs.append(
            _f(f"news.flow.embedding.dim_{k:02d}", f"News headline embedding component {k}", "daily", "")
        )
    return Schema(fs)
