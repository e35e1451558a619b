"""Great Expectations suites for the raw API batches, declared in code.

Each suite validates the pandas frame of one API batch (series, events, markets, ESPN
scoreboard games) before anything downstream uses it: required columns present and filled,
enumerations, ticker formats, price and count formats, keys unique within the batch.

Great Expectations takes seconds to import, so it is imported on first use only, and its
progress bars are turned off so they do not flood the run logs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from precog_pipelines.lib.wire_values import COUNT_PATTERN, DOLLAR_PRICE_PATTERN, TICKER_PATTERN

MARKET_STATUSES = ["initialized", "active", "inactive", "closed", "determined", "disputed", "amended", "finalized"]
FEE_TYPES = ["quadratic", "quadratic_with_maker_fees", "quadratic_with_combo_maker_fees", "flat"]
SAMPLE_VALUES = 5


@dataclass(frozen=True)
class FailedExpectation:
    expectation: str
    column: str | None
    unexpected_count: int | None
    sample_values: list[str]


@dataclass(frozen=True)
class BatchReport:
    """The outcome of one suite on one batch, shaped for asset-check metadata."""

    suite: str
    rows: int
    evaluated: int
    failed: list[FailedExpectation] = field(default_factory=list)

    @property
    def success(self) -> bool:
        return not self.failed


@dataclass(frozen=True)
class Expect:
    """One expectation, kept independent of the GX classes so suites are cheap to declare."""

    kind: str
    column: str
    options: Mapping[str, Any] = field(default_factory=dict)


def _series() -> list[Expect]:
    return [
        *_required("ticker", "title", "fee_type", "fee_multiplier"),
        Expect("unique", "ticker"),
        Expect("regex", "ticker", {"regex": TICKER_PATTERN}),
        Expect("in_set", "fee_type", {"value_set": FEE_TYPES}),
        Expect("between", "fee_multiplier", {"min_value": 0, "max_value": 1}),
    ]


def _events() -> list[Expect]:
    return [
        *_required("event_ticker", "series_ticker", "title", "mutually_exclusive"),
        Expect("unique", "event_ticker"),
        Expect("regex", "event_ticker", {"regex": TICKER_PATTERN}),
        Expect("regex", "series_ticker", {"regex": TICKER_PATTERN}),
        Expect("in_set", "mutually_exclusive", {"value_set": [True, False]}),
    ]


_MARKET_PRICES = ("yes_bid_dollars", "yes_ask_dollars", "no_bid_dollars", "no_ask_dollars", "last_price_dollars")
_MARKET_COUNTS = ("yes_bid_size_fp", "yes_ask_size_fp", "volume_fp", "open_interest_fp")


def _markets() -> list[Expect]:
    return [
        *_required("ticker", "event_ticker", "status", "market_type", *_MARKET_PRICES, *_MARKET_COUNTS),
        Expect("unique", "ticker"),
        Expect("regex", "ticker", {"regex": TICKER_PATTERN}),
        Expect("regex", "event_ticker", {"regex": TICKER_PATTERN}),
        Expect("in_set", "status", {"value_set": MARKET_STATUSES}),
        Expect("in_set", "market_type", {"value_set": ["binary", "scalar"]}),
        Expect("in_set", "result", {"value_set": ["yes", "no", "scalar", ""]}),
        # Strings, as the contract sends them: a JSON number would match the pattern once printed.
        *(Expect("of_type", column, {"type_": "str"}) for column in _MARKET_PRICES + _MARKET_COUNTS),
        *(Expect("regex", column, {"regex": DOLLAR_PRICE_PATTERN}) for column in _MARKET_PRICES),
        *(Expect("regex", column, {"regex": COUNT_PATTERN}) for column in _MARKET_COUNTS),
    ]


_CANDLE_QUOTES = tuple(f"{side}_{point}_dollars" for side in ("yes_bid", "yes_ask")
                       for point in ("open", "low", "high", "close"))
_CANDLE_TRADES = tuple(f"price_{point}_dollars" for point in ("open", "low", "high", "close", "mean", "previous"))
_CANDLE_COUNTS = ("volume_fp", "open_interest_fp")


def _candles() -> list[Expect]:
    """Candle records (lib/kalshi/candles.py), nested fields flattened with ``_``; trade prices
    may be null (nothing traded in the period), so only their format is checked."""
    return [
        *_required("candle_key", "ticker", "event_ticker", "period_interval", "end_period_ts", *_CANDLE_QUOTES,
                   *_CANDLE_COUNTS),
        Expect("unique", "candle_key"),
        Expect("regex", "ticker", {"regex": TICKER_PATTERN}),
        Expect("in_set", "period_interval", {"value_set": [1, 60, 1440]}),
        Expect("in_set", "market_result", {"value_set": ["yes", "no", "scalar", ""]}),
        *(Expect("of_type", column, {"type_": "str"}) for column in _CANDLE_QUOTES + _CANDLE_COUNTS),
        *(Expect("regex", column, {"regex": DOLLAR_PRICE_PATTERN}) for column in _CANDLE_QUOTES + _CANDLE_TRADES),
        *(Expect("regex", column, {"regex": COUNT_PATTERN}) for column in _CANDLE_COUNTS),
    ]


def _scoreboard_games() -> list[Expect]:
    return [
        *_required("id", "state", "completed", "home_team_id", "away_team_id", "home_score", "away_score"),
        Expect("unique", "id"),
        Expect("regex", "id", {"regex": r"^[0-9]+$"}),
        Expect("in_set", "state", {"value_set": ["pre", "in", "post"]}),
        Expect("regex", "home_team_id", {"regex": r"^[0-9]+$"}),
        Expect("regex", "away_team_id", {"regex": r"^[0-9]+$"}),
        Expect("regex", "home_score", {"regex": r"^[0-9]+$"}),
        Expect("regex", "away_score", {"regex": r"^[0-9]+$"}),
    ]


def _required(*columns: str) -> list[Expect]:
    return [Expect("not_null", column) for column in columns]


SUITES: dict[str, Callable[[], list[Expect]]] = {
    "kalshi_series": _series,
    "kalshi_events": _events,
    "kalshi_markets": _markets,
    "kalshi_candles": _candles,
    "espn_scoreboard_games": _scoreboard_games,
}

_context_lock = threading.Lock()
_context: Any = None


def _gx_context() -> Any:
    """One ephemeral GX context per process, with progress bars off."""
    global _context
    with _context_lock:
        if _context is None:
            import great_expectations as gx
            from great_expectations.data_context.types.base import ProgressBarsConfig

            context = gx.get_context(mode="ephemeral")
            context.variables.progress_bars = ProgressBarsConfig(globally=False)
            context.data_sources.add_pandas("api_batches").add_dataframe_asset("batch").add_batch_definition_whole_dataframe("whole")
            _context = context
        return _context


def _expectation(expect: Expect) -> Any:
    import great_expectations.expectations as gxe

    kinds = {
        "not_null": gxe.ExpectColumnValuesToNotBeNull,
        "unique": gxe.ExpectColumnValuesToBeUnique,
        "regex": gxe.ExpectColumnValuesToMatchRegex,
        "in_set": gxe.ExpectColumnValuesToBeInSet,
        "between": gxe.ExpectColumnValuesToBeBetween,
        "of_type": gxe.ExpectColumnValuesToBeOfType,
    }
    return kinds[expect.kind](column=expect.column, **expect.options)


def validate_records(suite_name: str, records: Iterable[Mapping[str, Any]]) -> BatchReport:
    """Validate the API records of one batch against the named suite."""
    import great_expectations as gx
    import pandas as pd

    context = _gx_context()  # GX objects need an active context before they can be built
    expectations = SUITES[suite_name]()
    columns = sorted({e.column for e in expectations})
    frame = pd.DataFrame.from_records(
        [{c: (r.get(c) if isinstance(r, Mapping) else None) for c in columns} for r in records], columns=columns
    ).astype(object)
    suite = gx.ExpectationSuite(name=suite_name)
    for expect in expectations:
        suite.add_expectation(_expectation(expect))
    with _context_lock:
        batch = (context.data_sources.get("api_batches").get_asset("batch")
                 .get_batch_definition("whole").get_batch(batch_parameters={"dataframe": frame}))
        result = batch.validate(suite, result_format="SUMMARY")
    failed = [
        FailedExpectation(
            expectation=r.expectation_config.type,
            column=r.expectation_config.kwargs.get("column"),
            unexpected_count=r.result.get("unexpected_count"),
            sample_values=[repr(v)[:80] for v in (r.result.get("partial_unexpected_list") or [])[:SAMPLE_VALUES]],
        )
        for r in result.results if not r.success
    ]
    return BatchReport(suite_name, len(frame), len(result.results), failed)


def scoreboard_game_record(event: Any) -> dict[str, Any]:
    """The fields the scoreboard suite checks, read leniently from one raw ESPN event."""
    def dig(value: Any, *path: Any) -> Any:
        for step in path:
            if isinstance(step, int):
                value = value[step] if isinstance(value, list) and len(value) > step else None
            else:
                value = value.get(step) if isinstance(value, Mapping) else None
        return value

    competitors = dig(event, "competitions", 0, "competitors") or []
    sides = {dig(c, "homeAway"): c for c in competitors if isinstance(c, Mapping)}
    status = dig(event, "competitions", 0, "status", "type") or dig(event, "status", "type")
    return {
        "id": dig(event, "id"), "state": dig(status, "state"), "completed": dig(status, "completed"),
        "home_team_id": dig(sides.get("home"), "team", "id"), "away_team_id": dig(sides.get("away"), "team", "id"),
        "home_score": dig(sides.get("home"), "score"), "away_score": dig(sides.get("away"), "score"),
    }
