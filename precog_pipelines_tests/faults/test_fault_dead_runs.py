"""A killed run never wedges the kalshi_api pool (issue 18, Finding 2).

The instance is the product's: a temporary DAGSTER_HOME holding the repository's dagster.yaml,
its storage in a new PostgreSQL database. Runs go the way schedules, sensors and the UI send
them: submitted to the run queue, launched by the queue daemon into the code location's gRPC
server, executed by a run worker process (in process, like the product's runs). The daemons'
iterations are driven by the test, as `dagster-daemon` would drive them, so that nothing waits
on an interval.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import ModuleTarget
from dagster._daemon.monitoring import execute_concurrency_slots_iteration, execute_run_monitoring_iteration
from dagster._daemon.run_coordinator.queued_run_coordinator_daemon import QueuedRunCoordinatorDaemon

from precog_pipelines_tests.conftest import postgres_dagster_instance
from precog_pipelines_tests.support.faults import wait_until

pytestmark = pytest.mark.slow

POOL = "kalshi_api"
FINISHED = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}


@pytest.fixture
def product_instance(postgres_server_url: str, tmp_path: Path) -> Iterator[dg.DagsterInstance]:
    home = tmp_path / "dagster_home"
    home.mkdir()
    with postgres_dagster_instance(postgres_server_url, home, "precog_test_dead_runs") as instance:
        yield instance


@pytest.fixture
def workspace(product_instance: dg.DagsterInstance) -> Iterator[WorkspaceProcessContext]:
    """The test code location, served by its own gRPC server process as `dg dev` serves ours."""
    target = ModuleTarget(module_name="precog_pipelines_tests.support.pool_holder", attribute=None,
                          working_directory=None, location_name="pool_holder")
    with WorkspaceProcessContext(product_instance, target) as context:
        context.create_request_context().get_code_location("pool_holder")  # the server is up
        servers = _children_running("pool_holder")
        yield context
    # Dagster asks its code server to stop once its executions finish, but the server lingers
    # (minutes) after runs were killed under it: end what this test started, by process id.
    deadline = time.monotonic() + 1
    while (alive := [pid for pid in servers if _is_running(pid)]) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in alive:
        os.kill(pid, signal.SIGKILL)


def _children_running(module: str) -> list[int]:
    """Process ids of this process's children whose command line names ``module``."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rpartition(")")[2].split()[1])
            if ppid == os.getpid() and module in stat.with_name("cmdline").read_text():
                children.append(int(stat.parent.name))
        except (OSError, ValueError):
            continue
    return children


def _is_running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


def submit(workspace: WorkspaceProcessContext, pid_dir: Path, hold: bool, tags: dict | None = None) -> str:
    """Queue one run of the kalshi_api job, as a schedule tick or the UI's Materialize does."""
    instance = workspace.instance
    request = workspace.create_request_context()
    location = request.get_code_location("pool_holder")
    [repository] = location.get_repositories().values()
    job = repository.get_full_job("hold_kalshi_api")
    run_config = {"ops": {"kalshi_api_holder": {"config": {"pid_dir": str(pid_dir), "hold": hold}}}}
    plan = location.get_execution_plan(job, run_config, step_keys_to_execute=None, known_state=None,
                                       instance=instance).execution_plan_snapshot
    run = instance.create_run(
        job_name=job.name, run_id=None, run_config=run_config, resolved_op_selection=None,
        step_keys_to_execute=plan.step_keys_to_execute, op_selection=None, status=None, root_run_id=None,
        parent_run_id=None, tags={**job.tags, **(tags or {})}, job_snapshot=job.job_snapshot, execution_plan_snapshot=plan,
        parent_job_snapshot=job.parent_job_snapshot, remote_job_origin=job.get_remote_origin(),
        job_code_origin=job.get_python_origin(), asset_selection=None, asset_check_selection=None,
        asset_graph=repository.asset_graph)
    return instance.submit_run(run.run_id, request).run_id


def daemon_pass(workspace: WorkspaceProcessContext, coordinator: QueuedRunCoordinatorDaemon) -> None:
    """One iteration of each daemon that decides what a dead run leaves behind: the run queue
    and run monitoring (which frees the slots of finished runs)."""
    list(coordinator.run_iteration(workspace))
    list(execute_run_monitoring_iteration(workspace, coordinator._logger))
    list(execute_concurrency_slots_iteration(workspace, coordinator._logger))


def status(instance: dg.DagsterInstance, run_id: str) -> dg.DagsterRunStatus:
    return instance.get_run_by_id(run_id).status


def held_by(instance: dg.DagsterInstance, run_ids: set[str]) -> list[str]:
    """The kalshi_api slots and pending claims that belong to ``run_ids``."""
    info = instance.event_log_storage.get_concurrency_info(POOL)
    return [c.run_id for c in info.claimed_slots if c.run_id in run_ids] + \
        [p.run_id for p in info.pending_steps if p.run_id in run_ids]


def test_a_sigkilled_run_frees_its_kalshi_api_place_and_the_next_run_proceeds(
        workspace: WorkspaceProcessContext, tmp_path: Path):
    """Finding 2: fill the kalshi_api pool with runs in progress, SIGKILL their run workers, and
    queue one more run. Before the fix the dead runs kept their slots forever (marked FAILURE,
    the pool still full): the next run stayed QUEUED, or once launched spun a CPU waiting for a
    slot. Now it is launched and succeeds, and nothing in the pool belongs to a dead run."""
    instance = workspace.instance
    coordinator = QueuedRunCoordinatorDaemon(interval_seconds=1)
    limit = instance.global_op_concurrency_default_limit
    assert limit, "dagster.yaml sets concurrency.pools.default_limit"

    holders = {submit(workspace, tmp_path, hold=True) for _ in range(limit)}
    pids = wait_until(lambda: daemon_pass(workspace, coordinator) or (
        [int((tmp_path / run_id).read_text()) for run_id in holders if (tmp_path / run_id).exists()]
        if all((tmp_path / run_id).exists() for run_id in holders) else None),
        "every holder is executing its kalshi_api step", timeout=60)

    # The pool is full: one more run waits in the queue, as a row (no process, no CPU).
    waiting = submit(workspace, tmp_path, hold=False)
    for _ in range(3):
        daemon_pass(workspace, coordinator)
    assert status(instance, waiting) == dg.DagsterRunStatus.QUEUED

    for pid in pids:
        os.kill(pid, signal.SIGKILL)

    def next_run_finished() -> bool:
        daemon_pass(workspace, coordinator)
        return status(instance, waiting) in FINISHED
    wait_until(next_run_finished, "the queued run finishes after the holders died", timeout=45)

    assert status(instance, waiting) == dg.DagsterRunStatus.SUCCESS
    assert {status(instance, run_id) for run_id in holders} == {dg.DagsterRunStatus.FAILURE}
    assert held_by(instance, holders | {waiting}) == []


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[1])


def test_a_run_whose_worker_died_unwatched_is_failed_by_run_monitoring(workspace: WorkspaceProcessContext,
                                                                       tmp_path: Path):
    """Finding 2, the unwatched case: the code server that would have noticed the worker's death
    dies with it, so the run stays STARTED and would count against kalshi_api forever. Run
    monitoring (enabled by dagster.yaml) fails it once it outlives its dagster/max_runtime tag
    (600 s on the refresh schedules; 2 s here)."""
    instance = workspace.instance
    coordinator = QueuedRunCoordinatorDaemon(interval_seconds=1)
    run_id = submit(workspace, tmp_path, hold=True, tags={"dagster/max_runtime": "2"})
    wait_until(lambda: daemon_pass(workspace, coordinator) or (tmp_path / run_id).exists(),
               "the run executes its kalshi_api step", timeout=60)
    worker = int((tmp_path / run_id).read_text())
    code_server = _parent(worker)

    os.kill(code_server, signal.SIGKILL)
    os.kill(worker, signal.SIGKILL)
    time.sleep(1)
    assert status(instance, run_id) == dg.DagsterRunStatus.STARTED  # nobody noticed

    def failed() -> bool:
        list(execute_run_monitoring_iteration(workspace, coordinator._logger))
        return status(instance, run_id) == dg.DagsterRunStatus.FAILURE
    wait_until(failed, "run monitoring fails the run", timeout=30)
