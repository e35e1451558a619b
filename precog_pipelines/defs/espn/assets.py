"""ESPN games: the live scoreboard (game states) and whole past seasons (the season backfill)."""

from datetime import date, datetime, timezone
from typing import Any

import dagster as dg
from pydantic import Field

from precog_pipelines.core.check_results import (
    contract_check_result,
    ingestion_check_specs,
    markdown_table,
    rejects_check_result,
)
from precog_pipelines.core.partitions import nfl_season_partitions, season_range
from precog_pipelines.lib.espn.client import SEASON_SCOREBOARDS
from precog_pipelines.lib.ingest.espn_store import LEAGUE, ScoreboardLoad, ingest_scoreboards
from precog_pipelines.lib.quality.gx_suites import scoreboard_game_record, validate_records
from precog_pipelines.resources.sources import EspnResource
from precog_pipelines.resources.warehouse import WarehouseResource

# The first season after FiveThirtyEight's files: earlier seasons are the files' record.
FIRST_ESPN_SEASON = 2021

class ScoreboardConfig(dg.Config):
    """Which scoreboard to load: by default ESPN's current week (the live poll)."""

    day: str = Field(default="", description="One US-Eastern day, YYYY-MM-DD (e.g. to catch up a past day).")
    season: int = Field(default=0, description="Season year, with season_type and week, for a past week.")
    season_type: int = Field(default=0, description="1 preseason, 2 regular season, 3 postseason.")
    week: int = Field(default=0, description="Week number within the season type.")

    def query(self) -> dict:
        if self.day:
            return {"day": date.fromisoformat(self.day)}
        if self.season:
            return {"season": self.season, "season_type": self.season_type, "week": self.week}
        return {}


@dg.asset(group_name="espn", kinds={"espn", "postgres", "python"}, owners=["team:precog"], pool="espn_api",
          check_specs=ingestion_check_specs("game_states"))
def game_states(context: dg.AssetExecutionContext, config: ScoreboardConfig, warehouse: WarehouseResource,
                espn: EspnResource) -> dg.MaterializeResult:
    """ESPN game status as SCD Type 2 history in `game_states`, keyed by ESPN game id: a new
    version when the score, period, clock or status changed. Each game's stable row in `games`
    (teams mapped by ESPN team id, US-Eastern date, season and week, neutral site, final score)
    is upserted alongside, adopting a game already known from the shipped NFL history."""
    with espn.client() as client:
        board = client.scoreboard_payload(**config.query())
    observed_at = datetime.now(timezone.utc)
    with warehouse.connection() as conn:
        load = ingest_scoreboards(conn, [board], observed_at, context.run.run_id)
        current = conn.execute("SELECT count(*) FROM game_states WHERE row_current_ind").fetchone()[0]
    report = validate_records("espn_scoreboard_games", [scoreboard_game_record(e) for e in load.accepted_events])
    return dg.MaterializeResult(
        metadata=_load_metadata(load) | {"observed_at": observed_at.isoformat(), "dagster/row_count": current},
        check_results=[contract_check_result("game_states", report),
                       rejects_check_result("game_states", load.rejects, len(load.events))],
    )


def _load_metadata(load: ScoreboardLoad) -> dict[str, Any]:
    """What one load fetched and wrote, with a preview of its games."""
    return {
        "fetched": len(load.events), "games_inserted": load.games.inserted, "games_updated": load.games.updated,
        "versions_inserted": load.versions.inserted, "versions_closed": load.versions.closed,
        "unchanged": load.versions.unchanged, "rejected": len(load.rejects),
        "preview": markdown_table([
            {"game": g.espn_game_id, "date": g.game_date, "away": g.away_abbreviation, "home": g.home_abbreviation,
             "score": f"{g.away_score}-{g.home_score}", "state": g.state, "period": g.period,
             "clock": g.display_clock} for g in load.parsed]),
    }


espn_seasons = nfl_season_partitions(FIRST_ESPN_SEASON)


@dg.asset(
    partitions_def=espn_seasons,
    # A backfill of any range of seasons is one run that walks their weeks in order.
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="espn", kinds={"espn", "postgres", "python"}, owners=["team:precog"], pool="espn_api",
)
def espn_season_games(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                      espn: EspnResource) -> dg.MaterializeResult:
    """Every game of an NFL season from ESPN's scoreboard, one partition per season from 2021
    (the first season after FiveThirtyEight's files), into `games` and `game_states` (the
    tables the live `game_states` poll writes): the 18 regular-season weeks
    (`dates=<season>&seasontype=2&week=N`) and the playoff rounds (`seasontype=3`, weeks 1, 2,
    3 and 5), at most two requests a second. A game the shipped history already holds (same
    day, same two teams) is linked to its ESPN id, not duplicated: its teams and result stay
    the files'. Each season is stored in one transaction. When a season's games changed,
    `elo_rerate_after_espn_backfill` re-rates Elo from the first such season."""
    first, last = season_range(context.partition_key_range)
    requests = 0
    with espn.client() as client:
        for season in range(first, last + 1):
            boards = []
            for season_type, week in SEASON_SCOREBOARDS:
                boards.append(client.scoreboard_payload(season=season, season_type=season_type, week=week))
                requests += 1
            with warehouse.connection() as conn:
                load = ingest_scoreboards(conn, boards, datetime.now(timezone.utc), context.run.run_id)
                report = validate_records("espn_scoreboard_games",
                                          [scoreboard_game_record(e) for e in load.accepted_events])
                if not report.success:
                    # Raised inside the transaction: nothing of this season is stored.
                    raise dg.Failure(description=f"season {season}: the scoreboard batch fails the ESPN contract: "
                                                 + "; ".join(f.expectation for f in report.failed),
                                     allow_retries=False)
                finals = conn.execute(
                    "SELECT count(*) FROM games WHERE league = %s AND season = %s AND home_score IS NOT NULL",
                    (LEAGUE, season)).fetchone()[0]
            context.add_asset_metadata(
                _load_metadata(load) | {
                    "season": season, "requests": len(SEASON_SCOREBOARDS), "final_games_stored": finals,
                    "games_changed": load.games.inserted + load.games.updated + load.versions.inserted,
                },
                partition_key=str(season),
            )
    return dg.MaterializeResult(metadata={"run_seasons": f"{first}..{last}", "run_requests": requests})
