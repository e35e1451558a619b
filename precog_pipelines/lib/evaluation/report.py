"""What the UI shows of an evaluation: a season's table and calibration chart, a range's totals
and Brier-by-season chart in Markdown, and the model versus the market season by season as rows
of a table (which the UI shows in place)."""

from __future__ import annotations

from collections.abc import Sequence

from precog_pipelines.lib.evaluation.forecasts import MARKET
from precog_pipelines.lib.evaluation.runs import SourceScores
from precog_pipelines.lib.evaluation.scoring import difference
from precog_pipelines.lib.text_charts import bar, diverging_bar, marker_strip


def _number(value: float | None, digits: int = 4, signed: bool = False) -> str:
    if value is None:
        return "–"
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def scores_table(scores: SourceScores) -> str:
    """One row per source: games, Brier, log loss, accuracy, and the model minus the market."""
    market = scores.market
    lines = ["| source | games | Brier | log loss | accuracy | Brier − market | log loss − market |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for source, s in scores.scores.items():
        versus = source != MARKET
        lines.append(
            f"| {source} | {s.games:,} | {_number(s.brier_score)} | {_number(s.log_loss)} | {_number(s.accuracy, 3)} | "
            f"{_number(difference(s.brier_score, market.brier_score), signed=True) if versus else ''} | "
            f"{_number(difference(s.log_loss, market.log_loss), signed=True) if versus else ''} |")
    return "\n".join(lines)


def scores_rows(scores: SourceScores) -> list[dict[str, object]]:
    """:func:`scores_table` as rows of a table."""
    market = scores.market
    return [{"source": source, "games": s.games, "brier": _rounded(s.brier_score), "log_loss": _rounded(s.log_loss),
             "accuracy": _rounded(s.accuracy),
             "brier − market": None if source == MARKET else _rounded(difference(s.brier_score, market.brier_score)),
             "log_loss − market": None if source == MARKET else _rounded(difference(s.log_loss, market.log_loss))}
            for source, s in scores.scores.items()]


def calibration_chart(scores: SourceScores) -> str:
    """Each probability bin: for every source, the games in it, and a strip with ``│`` at the mean
    probability and ``●`` at the observed home win rate (``◉``: they agree)."""
    sources = list(scores.scores)
    lines = ["| home win probability | " + " | ".join(sources) + " |",
             "| --- |" + " --- |" * len(sources)]
    bins = zip(*(scores.scores[s].calibration for s in sources), strict=True)
    for row in bins:
        cells = []
        for b in row:
            if not b.games:
                cells.append("–")
                continue
            cells.append(f"`{marker_strip(b.mean_probability, b.observed_rate)}` "
                         f"{b.mean_probability:.2f}→{b.observed_rate:.2f} ({b.games})")
        lines.append(f"| {row[0].low:.1f}–{row[0].high:.1f} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def brier_by_season_chart(seasons: Sequence[SourceScores]) -> str:
    """Every season's Brier score per source as bars on one scale (shorter is better)."""
    scored = [s for s in seasons if s.games]
    if not scored:
        return "No games with a closing line in these seasons."
    values = [v.brier_score for s in scored for v in s.scores.values()]
    low, high = min(values), max(values)
    floor = low - (high - low) * 0.25  # the best season still shows a bar
    sources = list(scored[0].scores)
    width = max(len(source) for source in sources)
    lines = [f"Brier score by season (shorter is better; scale {low:.3f}–{high:.3f})", ""]
    for s in scored:
        for i, source in enumerate(sources):
            brier = s.scores[source].brier_score
            lines.append(f"{s.season if i == 0 else '':>6}  {source:<{width}}  {brier:.4f} {bar(brier, floor, high, 30)}")
    return "```\n" + "\n".join(lines) + "\n```"


def model_vs_market_rows(by_season: dict[int, dict[str, float | None]]) -> list[dict[str, object]]:
    """One row per season, newest first: the market's Brier score, each model's, each model's
    difference from the market (negative: the model was better) and, for the first model, that
    difference as a bar left (model better) or right (market better) of the centre."""
    models = sorted({source for scores in by_season.values() for source in scores} - {MARKET})
    differences = [difference(scores.get(m), scores.get(MARKET)) for scores in by_season.values() for m in models]
    limit = max((abs(d) for d in differences if d is not None), default=0.0)
    rows: list[dict[str, object]] = []
    for season in sorted(by_season, reverse=True):
        scores = by_season[season]
        row: dict[str, object] = {"season": season, "market": _rounded(scores.get(MARKET))}
        for model in models:
            row[model] = _rounded(scores.get(model))
            row[f"{model} − market"] = _rounded(difference(scores.get(model), scores.get(MARKET)))
        first = difference(scores.get(models[0]), scores.get(MARKET)) if models else None
        if models:
            row[f"{models[0]} ◀ better │ worse ▶"] = "" if first is None else diverging_bar(first, limit)
        rows.append(row)
    return rows


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
