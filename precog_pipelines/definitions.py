"""The code location: everything under defs/ is discovered and loaded."""

import warnings
from pathlib import Path

import dagster as dg

from precog_pipelines.lib.settings import validate_settings

# Dagster 1.13 copies a sensor when it binds its job's resources and passes the copy `owners=[]`,
# which trips its own beta warning for sensors that set no owners at all: nothing to act on.
warnings.filterwarnings("ignore", message=r"Parameter `owners` of initializer `SensorDefinition.__init__`")


@dg.definitions
def defs() -> dg.Definitions:
    # A bad setting stops the code location from loading, with one line naming it, before any
    # resource or schedule is built from it.
    validate_settings()
    return dg.Definitions.merge(
        dg.load_from_defs_folder(path_within_project=Path(__file__).parent),
        # Our steps are short SQL and HTTP calls: running them in the run's own process saves a
        # Python start-up (and its imports) per step, which dominates on a small machine.
        dg.Definitions(executor=dg.in_process_executor),
    )
