"""ESPN game states: scores, clock and status of every game on the scoreboard."""

from datetime import date, datetime, timezone

import dagster as dg
from pydantic import Field

from precog_pipelines.checks_support import (
    accepted_payloads,
    contract_check_result,
    ingestion_check_specs,
    markdown_table,
    rejects_check_result,
)
from precog_pipelines.lib.espn import EspnParseError, iter_event_payloads, parse_game_state, season_context
from precog_pipelines.lib.ingest.espn_store import espn_team_ids, load_scoreboard
from precog_pipelines.lib.ingest.rejects import parse_batch, record_rejects
from precog_pipelines.lib.quality.gx_suites import scoreboard_game_record, validate_records
from precog_pipelines.resources.sources import EspnResource
from precog_pipelines.resources.warehouse import WarehouseResource


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
    is upserted alongside, adopting a game already known from FiveThirtyEight's history."""
    with espn.client() as client:
        board = client.scoreboard_payload(**config.query())
    observed_at = datetime.now(timezone.utc)
    events, season = list(iter_event_payloads(board)), season_context(board)
    with warehouse.connection() as conn:
        teams = espn_team_ids(conn)
        parsed, rejects = parse_batch(events, lambda raw: parse_game_state(raw, teams, season=season), "id",
                                      (EspnParseError,))
        games, versions = load_scoreboard(conn, parsed, observed_at)
        rejects += games.rejects
        record_rejects(conn, "espn", "game_state", rejects, context.run.run_id)
        current = conn.execute("SELECT count(*) FROM game_states WHERE row_current_ind").fetchone()[0]
    merge = versions.written
    report = validate_records("espn_scoreboard_games",
                              [scoreboard_game_record(e) for e in accepted_payloads(events, rejects, "id")])
    return dg.MaterializeResult(
        metadata={
            "fetched": len(events), "games_inserted": games.written.inserted, "games_updated": games.written.updated,
            "versions_inserted": merge.inserted, "versions_closed": merge.closed, "unchanged": merge.unchanged,
            "rejected": len(rejects), "observed_at": observed_at.isoformat(), "dagster/row_count": current,
            "preview": markdown_table([
                {"game": g.espn_game_id, "away": g.away_abbreviation, "home": g.home_abbreviation,
                 "score": f"{g.away_score}-{g.home_score}", "state": g.state, "period": g.period,
                 "clock": g.display_clock} for g in parsed]),
        },
        check_results=[contract_check_result("game_states", report),
                       rejects_check_result("game_states", rejects, len(events))],
    )
