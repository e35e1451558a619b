"""ESPN games: the live scoreboard (game states) and whole past seasons (the season backfill)."""

from datetime import date, datetime, timezone
from typing import Any

import dagster as dg
from pydantic import Field

from precog_pipelines.core.checks import ingestion_check_specs
from precog_pipelines.core.ingestion import NOTHING_MERGED, NOTHING_UPSERTED, ingestion_result
from precog_pipelines.core.metadata import markdown_table
from precog_pipelines.core.partitions import nfl_season_partitions, season_range
from precog_pipelines.lib.espn.client import SEASON_SCOREBOARDS
from precog_pipelines.lib.ingest.espn_store import LEAGUE, espn_team_ids, game_state_ingestion, scoreboard_events
from precog_pipelines.lib.ingest.pipeline import IngestionReport, ingest
from precog_pipelines.lib.warehouse.fingerprint import scd2_fingerprint
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
    is upserted alongside, adopting a game already known from the shipped NFL history. A
    scoreboard that fails its contract is not stored at all."""
    with espn.client() as client:
        board = client.scoreboard_payload(**config.query())
    observed_at = datetime.now(timezone.utc)
    with warehouse.connection() as conn:
        report = ingest(conn, game_state_ingestion(espn_team_ids(conn)), scoreboard_events([board]), observed_at,
                        context.run.run_id)
        current = conn.execute("SELECT count(*) FROM game_states WHERE row_current_ind").fetchone()[0]
        version = scd2_fingerprint(conn, "game_states")
    return ingestion_result("game_states", report, written=_written(report), observed_at=observed_at,
                            row_count=current, preview=_preview(report), data_version=version)


def _written(report: IngestionReport) -> dict[str, int]:
    """The games upserted and the state versions merged (zero when nothing was stored)."""
    games = report.load.related["games"] if report.load else NOTHING_UPSERTED
    versions = report.load.written if report.load else NOTHING_MERGED
    return ({"games_inserted": games.inserted, "games_updated": games.updated}
            | {"versions_inserted": versions.inserted, "versions_closed": versions.closed,
               "unchanged": versions.unchanged})


def _preview(report: IngestionReport) -> list[dict[str, Any]]:
    return [{"game": g.espn_game_id, "date": g.game_date, "away": g.away_abbreviation, "home": g.home_abbreviation,
             "score": f"{g.away_score}-{g.home_score}", "state": g.state, "period": g.period,
             "clock": g.display_clock} for g in report.parsed]


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
    the files'. Each season is stored in one transaction, and not at all when it fails the
    ESPN contract (the run then fails). When a season's games changed,
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
                report = ingest(conn, game_state_ingestion(espn_team_ids(conn)), scoreboard_events(boards),
                                datetime.now(timezone.utc), context.run.run_id)
                if not report.stored:
                    raise dg.Failure(description=f"season {season}: the scoreboard batch fails the ESPN contract "
                                                 f"({'; '.join(f.expectation for f in report.contract.failed)}); "
                                                 "nothing of it was stored", allow_retries=False)
                finals = conn.execute(
                    "SELECT count(*) FROM games WHERE league = %s AND season = %s AND home_score IS NOT NULL",
                    (LEAGUE, season)).fetchone()[0]
            written = _written(report)
            context.add_asset_metadata(
                {"fetched": report.fetched, **written, "rejected": len(report.rejects),
                 "preview": markdown_table(_preview(report)), "season": season,
                 "requests": len(SEASON_SCOREBOARDS), "final_games_stored": finals,
                 "games_changed": written["games_inserted"] + written["games_updated"] + written["versions_inserted"]},
                partition_key=str(season),
            )
    return dg.MaterializeResult(metadata={"run_seasons": f"{first}..{last}", "run_requests": requests})
