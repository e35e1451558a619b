"""The deployment of ``deploy/`` as processes on one machine: the code location in its own
``dagster code-server`` process (the image's command), a webserver and a daemon whose workspace
(``deploy/workspace.yaml``) points at it over gRPC, Dagster's storage on PostgreSQL (the
repository's ``dagster.yaml``, as the image carries it), the warehouse migrated by
``precog db upgrade`` (the compose file's migrate service), and the sandbox standing in for Kalshi.

The webserver and the daemon get only what compose gives them (``DAGSTER_HOME``,
``DAGSTER_PG_URL``): no warehouse URL and no Kalshi settings. A run that writes the warehouse can
therefore only have executed in the code server's environment."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import psutil
import pytest
import requests
import yaml

from precog_pipelines.lib.settings import code_location_environment, repository_root
from precog_pipelines.lib.warehouse.server import connect
from precog_pipelines_tests.conftest import scratch_database
from precog_pipelines_tests.support import deploy_files
from precog_pipelines_tests.support.deploy_files import Dockerfile, with_option

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
LOCATION = "precog_pipelines"
STARTUP_SECONDS = 180
RUN_SECONDS = 240
STOP_GRACE_SECONDS = 20

LAUNCH_RUN = """
mutation LaunchRun($executionParams: ExecutionParams!) {
  launchRun(executionParams: $executionParams) {
    __typename
    ... on LaunchRunSuccess { run { runId status } }
    ... on PythonError { message }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on InvalidSubsetError { message }
    ... on UnauthorizedError { message }
  }
}
"""
RUN_STATUS = """
query RunStatus($runId: ID!) {
  runOrError(runId: $runId) { __typename ... on Run { status } }
}
"""
LOCATION_STATUS = "{ workspaceOrError { ... on Workspace { locationEntries { name locationOrLoadError { __typename } } } } }"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _base_environment() -> dict[str, str]:
    """This machine's environment without any Precog, Dagster or Kalshi setting: each process
    gets exactly the ones its compose service names."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("PRECOG_", "DAGSTER_", "KALSHI_", "ESPN_")) and k != "VIRTUAL_ENV"}


@contextmanager
def _service(name: str, command: list[str], environment: dict[str, str], logs: Path) -> Iterator[subprocess.Popen]:
    """A process in its own process group; on exit it and everything it started (the code
    server's gRPC child, run workers) are stopped: SIGTERM, then SIGKILL after a grace period."""
    log = (logs / f"{name}.log").open("w", encoding="utf-8")
    process = subprocess.Popen(command, env=environment, stdout=log, stderr=subprocess.STDOUT, process_group=0)
    try:
        yield process
    finally:
        try:
            family = [process, *psutil.Process(process.pid).children(recursive=True)]
        except psutil.NoSuchProcess:
            family = []
        for member in family:
            try:
                member.terminate()
            except psutil.NoSuchProcess:
                pass
        _, alive = psutil.wait_procs(family, timeout=STOP_GRACE_SECONDS)
        for member in alive:
            try:
                member.kill()
            except psutil.NoSuchProcess:
                pass
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=30)
        log.close()


def _logs(logs: Path) -> str:
    return "\n".join(f"--- {path.name}\n{path.read_text(errors='replace')[-4000:]}" for path in sorted(logs.glob("*.log")))


def _graphql(url: str, query: str, variables: dict | None = None) -> dict:
    response = requests.post(f"{url}/graphql", json={"query": query, "variables": variables or {}}, timeout=30)
    response.raise_for_status()
    payload = response.json()
    assert "errors" not in payload, payload["errors"]
    return payload["data"]


def _wait_until_healthy(code_server: subprocess.Popen, port: int, logs: Path) -> None:
    """The compose file's health check of the code server, until it passes."""
    check = deploy_files.compose()["services"]["code-server"]["healthcheck"]["test"]
    assert check[0] == "CMD", check
    command = [str(BIN / check[1]), *with_option(check[2:], str(port), "-p", "--port")]
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        assert code_server.poll() is None, f"the code server exited:\n{_logs(logs)}"
        if subprocess.run(command, capture_output=True, timeout=60).returncode == 0:
            return
        time.sleep(1)
    raise AssertionError(f"the code server was not healthy within {STARTUP_SECONDS} s:\n{_logs(logs)}")


def _wait_for_location(url: str, processes: list[subprocess.Popen], logs: Path) -> None:
    """Until the webserver serves the code location it reached over gRPC."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        assert all(p.poll() is None for p in processes), f"a process exited:\n{_logs(logs)}"
        try:
            entries = _graphql(url, LOCATION_STATUS)["workspaceOrError"]["locationEntries"]
            if [(e["name"], (e["locationOrLoadError"] or {}).get("__typename")) for e in entries] == [
                    (LOCATION, "RepositoryLocation")]:
                return
        except (requests.RequestException, AssertionError, KeyError, TypeError):
            pass
        time.sleep(1)
    raise AssertionError(f"the webserver did not load {LOCATION} within {STARTUP_SECONDS} s:\n{_logs(logs)}")


def _wait_for_run(url: str, run_id: str, logs: Path) -> str:
    deadline = time.monotonic() + RUN_SECONDS
    status = "unknown"
    while time.monotonic() < deadline:
        status = _graphql(url, RUN_STATUS, {"runId": run_id})["runOrError"]["status"]
        if status in ("SUCCESS", "FAILURE", "CANCELED"):
            return status
        time.sleep(1)
    raise AssertionError(f"run {run_id} still {status} after {RUN_SECONDS} s:\n{_logs(logs)}")


def test_a_run_launched_through_the_webserver_is_queued_by_the_daemon_and_writes_the_warehouse(
        tmp_path, postgres_server_url, sandbox, kalshi_key):
    logs = tmp_path / "logs"
    logs.mkdir()
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    # The image bakes the repository's dagster.yaml into DAGSTER_HOME.
    shutil.copyfile(repository_root() / "dagster.yaml", dagster_home / "dagster.yaml")
    grpc_port, ui_port = _free_port(), _free_port()
    ui_url = f"http://127.0.0.1:{ui_port}"

    # deploy/workspace.yaml with the compose service's host name replaced by this machine's.
    workspace = yaml.safe_load(deploy_files.WORKSPACE.read_text())
    workspace["load_from"][0]["grpc_server"] |= {"host": "127.0.0.1", "port": grpc_port}
    workspace_path = tmp_path / "workspace.yaml"
    workspace_path.write_text(yaml.safe_dump(workspace))

    with ExitStack() as stack:
        warehouse = stack.enter_context(scratch_database(postgres_server_url, "precog_test_split_wh"))
        dagster_db = stack.enter_context(scratch_database(postgres_server_url, "precog_test_split_dagster"))
        instance = {"DAGSTER_HOME": str(dagster_home), "DAGSTER_PG_URL": dagster_db.url}

        # The compose file's migrate service; DAGSTER_PG_URL only keeps it from creating
        # precog_dagster on the shared test server.
        upgrade = subprocess.run([str(BIN / "precog"), "db", "upgrade"], capture_output=True, text=True, timeout=300,
                                 env=_base_environment() | {"PRECOG_DATABASE_URL": warehouse.url,
                                                            "DAGSTER_PG_URL": dagster_db.url,
                                                            "PRECOG_HOME": str(tmp_path / "precog_home")})
        assert upgrade.returncode == 0, upgrade.stdout + upgrade.stderr

        # The image's own command, on this machine's loopback and a free port.
        code_server_command = Dockerfile.read().cmd()
        code_server_command = with_option(with_option(code_server_command, "127.0.0.1", "-h", "--host"),
                                          str(grpc_port), "-p", "--port")
        code_server_command[0] = str(BIN / code_server_command[0])
        kalshi = sandbox.environment() | {"KALSHI_ENV": "demo", "KALSHI_API_KEY_ID": kalshi_key.key_id,
                                          "KALSHI_PRIVATE_KEY_PATH": str(kalshi_key.private_key_path)}
        code_location = code_location_environment(kalshi) | {"PRECOG_DATABASE_URL": warehouse.url}
        code_server = stack.enter_context(_service(
            "code-server", code_server_command, _base_environment() | instance | code_location, logs))

        # As compose starts them: once the code server's health check passes.
        _wait_until_healthy(code_server, grpc_port, logs)
        webserver = stack.enter_context(_service(
            "webserver", [str(BIN / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(ui_port),
                          "-w", str(workspace_path)], _base_environment() | instance, logs))
        daemon = stack.enter_context(_service(
            "daemon", [str(BIN / "dagster-daemon"), "run", "-w", str(workspace_path)],
            _base_environment() | instance, logs))

        _wait_for_location(ui_url, [code_server, webserver, daemon], logs)
        launched = _graphql(ui_url, LAUNCH_RUN, {"executionParams": {
            # As the UI's "Materialize" button asks for it: the asset with its checks.
            "selector": {"repositoryLocationName": LOCATION, "repositoryName": "__repository__",
                         "jobName": "__ASSET_JOB", "assetSelection": [{"path": ["kalshi_series"]}]},
            "executionMetadata": {"tags": [{"key": "test", "value": "split-deployment"}]},
        }})["launchRun"]
        assert launched["__typename"] == "LaunchRunSuccess", launched
        # Queued by the webserver; only the daemon's run queue can start it.
        assert launched["run"]["status"] == "QUEUED"

        status = _wait_for_run(ui_url, launched["run"]["runId"], logs)
        assert status == "SUCCESS", _logs(logs)

        with connect(warehouse.url) as conn:
            tickers = [row[0] for row in conn.execute("SELECT ticker FROM series ORDER BY ticker")]
        assert tickers == ["KXNFLGAME"]
