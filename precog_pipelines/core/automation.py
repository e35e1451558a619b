"""Automation settings shared by every domain: whether schedules and sensors start switched on
and how often they run, and the automation condition of the derived assets.

Off by default, so that a production deployment starts nothing by surprise; ``precog dev`` sets
``PRECOG_DEV_AUTOMATION=1`` so that a new user sees the platform work without a click. Each
domain builds its schedules and sensors from an :class:`Automation` inside its
``@dg.definitions`` function, when the code location loads, never at import.
"""

from dataclasses import dataclass

import dagster as dg

from precog_pipelines.lib.settings import automation_enabled


@dataclass(frozen=True)
class Automation:
    """How schedules and sensors are built: stopped at production cadences, or running at
    ``precog dev``'s faster ones (its sandbox clock plays a whole game in minutes)."""

    running: bool = False

    @classmethod
    def from_environment(cls) -> "Automation":
        return cls(running=automation_enabled())

    @property
    def schedule_status(self) -> dg.DefaultScheduleStatus:
        return dg.DefaultScheduleStatus.RUNNING if self.running else dg.DefaultScheduleStatus.STOPPED

    @property
    def sensor_status(self) -> dg.DefaultSensorStatus:
        return dg.DefaultSensorStatus.RUNNING if self.running else dg.DefaultSensorStatus.STOPPED

    def cadence(self, production: str, dev: str) -> str:
        """The cron schedule: production's, or the faster one under ``precog dev``."""
        return dev if self.running else production


PRODUCTION = Automation()

# A refresh run lasts seconds. One still in progress after this long has lost its run worker
# without anyone marking it (e.g. the code server died with it): run monitoring fails it, so it
# stops counting against its pool (kalshi_api, espn_api) and the next refresh can run (issue 18,
# Finding 2). The tag is Dagster's per-run `max_runtime_seconds`.
REFRESH_MAX_RUNTIME_SECONDS = 600


def refresh_schedule(automation: Automation, name: str, description: str, target: list[dg.AssetsDefinition],
                     production_cron: str, dev_cron: str) -> dg.ScheduleDefinition:
    """A schedule that refreshes ``target`` on a US-Eastern cron: ``production_cron``, or
    ``dev_cron`` under ``precog dev``.

    Its job is named (``kalshi_schedule`` runs ``kalshi_refresh``): the anonymous job Dagster
    makes for a schedule's asset target runs without an asset selection, and the UI hides
    anonymous jobs, so the Runs page showed such runs with an empty Target column."""
    job = dg.define_asset_job(name=f"{name.removesuffix('_schedule')}_refresh", selection=target,
                              description=description)
    return dg.ScheduleDefinition(
        name=name, description=description, job=job,
        cron_schedule=automation.cadence(production_cron, dev_cron),
        execution_timezone="America/New_York", default_status=automation.schedule_status,
        tags={"dagster/max_runtime": str(REFRESH_MAX_RUNTIME_SECONDS)},
    )

# Recompute whenever inputs change, but never from data whose blocking checks failed
# (DAGSTER_STANDARD.md, pitfall E9). For ratings the guard is that their latest run, which fails
# when a blocking check fails, did not fail. Dagster records a ranged run's check result without
# a partition, which its blocking-checks condition cannot match to the latest season; Elo's checks
# now also record one result per season (core.checks.season_results), but switching this guard
# to the checks' condition is left for a change that proves it through the automation tests.
_RATINGS = dg.AssetSelection.assets("elo_ratings")
# The labels are what the UI shows: the top one in the asset's Automation details (the first place
# a person looks), the parts in each evaluation of its Automation tab, where the one that is false
# says why nothing was requested (issue 17: "Not requested" alone hid a failed Elo run).
RATINGS_RUN_DID_NOT_FAIL = "elo_ratings' latest run did not fail"
UPSTREAM_CHECKS_PASSED = "upstream blocking checks passed"
UPSTREAM_CHECKED = (
    dg.AutomationCondition.eager()
    & dg.AutomationCondition.all_deps_blocking_checks_passed().ignore(_RATINGS).with_label(UPSTREAM_CHECKS_PASSED)
    & (~dg.AutomationCondition.any_deps_match(dg.AutomationCondition.execution_failed()).allow(_RATINGS)
       ).with_label(RATINGS_RUN_DID_NOT_FAIL)
).with_label("eager; waits while an upstream blocking check or the latest elo_ratings run failed")
