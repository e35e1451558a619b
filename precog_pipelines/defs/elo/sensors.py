"""Re-rating Elo when an ESPN season backfill changed the games it is rated from."""

import dagster as dg

from precog_pipelines.core.automation import PRODUCTION, Automation
from precog_pipelines.defs.elo.jobs import elo_ratings_job
from precog_pipelines.defs.elo.partitions import nfl_seasons
from precog_pipelines.lib.elo.seasons import first_season_to_rerate

ESPN_SEASON_GAMES = dg.AssetKey("espn_season_games")
ELO_RATINGS = dg.AssetKey("elo_ratings")
BATCH = 500


def elo_rerate_after_espn_backfill(automation: Automation = PRODUCTION) -> dg.SensorDefinition:
    return dg.sensor(name="elo_rerate_after_espn_backfill", job=elo_ratings_job, minimum_interval_seconds=30,
                     default_status=automation.sensor_status)(rerate_after_backfills)


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(sensors=[elo_rerate_after_espn_backfill(Automation.from_environment())])


def rerate_after_backfills(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
    """When `espn_season_games` runs have finished and changed games of some seasons, rate
    `elo_ratings` again from the first such season to the season in progress, in one run (from
    1920 when the seasons before it were never rated). A materialization of a run still in
    progress waits for the run to end."""
    after = int(context.cursor) if context.cursor else None
    records = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=ESPN_SEASON_GAMES, after_storage_id=after), limit=BATCH, ascending=True
    ).records
    changed, cursor = [], after
    for record in records:
        run = context.instance.get_run_by_id(record.run_id)
        if run is not None and not run.is_finished:
            break  # later seasons of that run are not stored yet
        metadata = record.asset_materialization.metadata if record.asset_materialization else {}
        games_changed = metadata.get("games_changed")
        if games_changed is not None and games_changed.value and record.partition_key:
            changed.append(int(record.partition_key))
        cursor = record.storage_id
    if cursor == after:
        return dg.SkipReason("no finished espn_season_games run since the last evaluation")
    rated = {int(key) for key in context.instance.get_materialized_partitions(ELO_RATINGS)}
    first = first_season_to_rerate(changed, rated, int(nfl_seasons.get_first_partition_key()))
    if first is None:
        return dg.SensorResult(skip_reason=dg.SkipReason("the backfilled seasons changed no game"),
                               cursor=str(cursor))
    last = nfl_seasons.get_last_partition_key()
    return dg.SensorResult(
        run_requests=[dg.RunRequest(
            run_key=f"espn-backfill-{cursor}",
            tags={"dagster/asset_partition_range_start": str(first), "dagster/asset_partition_range_end": last},
        )],
        cursor=str(cursor),
    )
