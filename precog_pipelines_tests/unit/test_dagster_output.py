"""What `precog dev` shows of Dagster's output: one line per warning or failure."""

from __future__ import annotations

import io
import time
from pathlib import Path

from precog_pipelines.cli.dagster_output import DagsterOutput, terminal_line

LOG = Path("/home/u/.precog/logs/dagster.log")
UI = "http://127.0.0.1:3000"
RUN = "4e0017d1-3836-426b-a6e0-2f130f7bb74e"
STEP_FAILURE = [
    f"2026-11-29 06:13:42 +0000 - dagster - ERROR - __ASSET_JOB - {RUN} - 15344 - elo_ratings - STEP_FAILURE - "
    'Execution of step "elo_ratings" failed.\n',
    "\n",
    "dagster._core.definitions.events.Failure: games_1920_2020.csv line 6: field 'score2' value 'abc' is not a "
    "non-negative integer score (0 to 999)\n",
    "\n",
    "Stack Trace:\n",
    '  File "/venv/dagster/_core/execution/plan/utils.py", line 57, in op_execution_error_boundary\n',
    "    yield\n",
]
RUN_FAILURE = [
    f"2026-11-29 06:13:43 +0000 - dagster - ERROR - __ASSET_JOB - {RUN} - 15344 - RUN_FAILURE - Execution of run "
    'for "__ASSET_JOB" failed. Steps failed: [\'elo_ratings\'].\n',
]


def test_a_step_failure_is_one_line_with_the_errors_words_the_run_page_and_the_log():
    line = terminal_line(STEP_FAILURE, UI, LOG)
    assert line == (f"Run failed: step elo_ratings of __ASSET_JOB (4e0017d1): games_1920_2020.csv line 6: field "
                    f"'score2' value 'abc' is not a non-negative integer score (0 to 999). See {UI}/runs/{RUN} "
                    f"(full log: {LOG})")
    assert "\n" not in line and "Stack Trace" not in line and "File" not in line


def test_the_runs_own_failure_after_its_steps_is_not_said_twice():
    reported: set[str] = set()
    assert terminal_line(STEP_FAILURE, UI, LOG, reported) is not None
    assert terminal_line(RUN_FAILURE, UI, LOG, reported) is None
    # A run failing without a failed step (interrupted, refused at launch) is said once.
    assert terminal_line(RUN_FAILURE, UI, LOG, set()).startswith("Run failed: __ASSET_JOB (4e0017d1): Execution")


def test_debug_and_info_records_stay_in_the_log_and_colours_do_not_matter():
    debug = [f"2026-11-29 06:13:43 +0000 - dagster - DEBUG - __ASSET_JOB - {RUN} - 15344 - ENGINE_EVENT - x\n"]
    info = ["\x1b[32m2026-11-29 06:12:06 +0000\x1b[0m - dagster.daemon - \x1b[34mINFO\x1b[0m - Checking sensors\n"]
    warning = ["\x1b[32m2026-11-29 06:12:06 +0000\x1b[0m - dagster.daemon - \x1b[34mWARNING\x1b[0m - Slow tick\n"]
    assert terminal_line(debug, UI, LOG) is None and terminal_line(info, UI, LOG) is None
    assert terminal_line(warning, UI, LOG) == f"Dagster warning: Slow tick (details: {LOG})"
    assert terminal_line(["  File \"x.py\", line 1\n"], UI, LOG) is None


def test_the_reader_logs_everything_and_says_a_failure_once_even_when_nothing_follows(tmp_path):
    shown: list[str] = []
    stream = io.StringIO("".join(STEP_FAILURE + RUN_FAILURE))
    output = DagsterOutput(stream, tmp_path / "logs" / "dagster.log", UI, shown.append)
    output.join(5)
    deadline = time.monotonic() + 5
    while not shown and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(shown) == 1 and shown[0].startswith("Run failed: step elo_ratings"), shown
    assert (tmp_path / "logs" / "dagster.log").read_text() == "".join(STEP_FAILURE + RUN_FAILURE)
