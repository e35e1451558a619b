"""Whether schedules and sensors start switched on.

Off by default, so that a production deployment starts nothing by surprise; ``precog dev``
sets ``PRECOG_DEV_AUTOMATION=1`` so that a new user sees the platform work without a click.
Read when the code location loads, which is when Dagster decides a default status.
"""

import os

import dagster as dg


def automation_enabled() -> bool:
    return os.environ.get("PRECOG_DEV_AUTOMATION") == "1"


def sensor_status() -> dg.DefaultSensorStatus:
    return dg.DefaultSensorStatus.RUNNING if automation_enabled() else dg.DefaultSensorStatus.STOPPED


def schedule_status() -> dg.DefaultScheduleStatus:
    return dg.DefaultScheduleStatus.RUNNING if automation_enabled() else dg.DefaultScheduleStatus.STOPPED


def cadence(production: str, dev: str) -> str:
    """The cron schedule: production's, or a faster one under ``precog dev``, whose sandbox
    clock runs a whole game in minutes."""
    return dev if automation_enabled() else production
