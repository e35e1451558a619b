"""deploy/ without Docker or Helm: `docker compose config` and `helm lint` are not available
here, so these tests load the Dockerfile, the compose file, its workspace and the Helm values and
check that they agree with each other and with the repository: one image, one module, the settings
the code location reads, the gRPC and webserver ports, the Kalshi key as a file, and the instance
configuration of dagster.yaml carried into the chart's values. Keys of the Helm values are checked
against the fields of the chart's own values schema (helm/dagster/schema in dagster-io/dagster)."""

from __future__ import annotations

import re
import tomllib
from pathlib import PurePosixPath

import pytest

from precog_pipelines.lib.settings import SETTINGS, SETTINGS_BY_NAME, repository_root
from precog_pipelines.lib.warehouse.server import DAGSTER_DATABASE
from precog_pipelines_tests.support.deploy_files import (
    COMPOSE,
    DOCKERFILE,
    WORKSPACE,
    Dockerfile,
    compose,
    helm_values,
    load_yaml,
    option,
    workspace_server,
)

# Every setting the code location reads, and the warehouse it writes.
CODE_LOCATION_SETTINGS = {s.name for s in SETTINGS if s.code_location} | {"PRECOG_DATABASE_URL"}
DAGSTER_INSTANCE = {"DAGSTER_HOME", "DAGSTER_PG_URL"}
PRECOG_SERVICES = ("migrate", "code-server", "webserver", "daemon")
# Variables the deployment sets on purpose instead of taking the setting's default.
DEPLOYMENT_CHOICES = {"KALSHI_PRIVATE_KEY_PATH", "PRECOG_DEV_AUTOMATION"}

# Fields of the chart's values schema (schema/charts/dagster/values.py, subschema/*.py and
# dagster_user_deployments/subschema/user_deployments.py of the chart matching Dagster 1.13).
CHART_TOP_LEVEL = {
    "dagsterWebserver", "dagster-user-deployments", "postgresql", "generatePostgresqlPasswordSecret",
    "generateCeleryConfigSecret", "rabbitmq", "redis", "flower", "ingress", "imagePullSecrets", "computeLogManager",
    "scheduler", "runLauncher", "pythonLogs", "dagsterDaemon", "busybox", "migrate", "telemetry", "serviceAccount",
    "global", "retention", "concurrency", "additionalInstanceConfig"}
CHART_USER_DEPLOYMENT = {
    "name", "image", "dagsterApiGrpcArgs", "codeServerArgs", "includeConfigInLaunchedRuns", "deploymentNamespace",
    "port", "replicaCount", "env", "envConfigMaps", "envSecrets", "annotations", "nodeSelector", "affinity",
    "tolerations", "podSecurityContext", "securityContext", "resources", "livenessProbe", "readinessProbe",
    "startupProbe", "labels", "volumeMounts", "volumes", "schedulerName", "initContainers", "sidecarContainers",
    "deploymentStrategy"}
CHART_K8S_RUN_LAUNCHER = {
    "image", "imagePullPolicy", "jobNamespace", "loadInclusterConfig", "kubeconfigFile", "envConfigMaps",
    "envSecrets", "envVars", "volumeMounts", "volumes", "labels", "failPodOnRunFailure", "resources",
    "schedulerName", "securityContext", "runK8sConfig"}
CHART_POSTGRESQL = {"postgresqlScheme", "image", "enabled", "postgresqlHost", "postgresqlUsername",
                    "postgresqlPassword", "postgresqlDatabase", "postgresqlParams", "service"}
CHART_RUN_MONITORING = {"enabled", "startTimeoutSeconds", "cancelTimeoutSeconds", "maxResumeRunAttempts",
                        "pollIntervalSeconds", "freeSlotsAfterRunEndSeconds"}

_DEFAULTED = re.compile(r"^\$\{(?P<name>[A-Z0-9_]+)(?::-(?P<default>[^}]*))?\}$")


def _services() -> dict:
    return compose()["services"]


def _environment(service: str) -> dict[str, str]:
    return {name: str(value) for name, value in _services()[service].get("environment", {}).items()}


def _compose_default(value: str) -> str:
    """What ``${NAME:-default}`` gives when NAME is unset; a literal is itself."""
    found = _DEFAULTED.match(value)
    return (found.group("default") or "") if found else value


def _deployment() -> dict:
    [deployment] = helm_values()["dagster-user-deployments"]["deployments"]
    return deployment


def _helm_environment() -> dict[str, dict]:
    return {entry["name"]: entry for entry in _deployment()["env"]}


def _repository_location() -> dict:
    [entry] = load_yaml(repository_root() / "workspace.yaml")["load_from"]
    return entry["python_module"]


def test_one_image_runs_every_precog_service_and_the_helm_user_deployment():
    images = {_services()[name]["image"] for name in PRECOG_SERVICES}
    assert len(images) == 1, images
    image = _compose_default(images.pop())
    for name in PRECOG_SERVICES:
        build = _services()[name]["build"]
        assert (COMPOSE.parent / build["context"]).resolve() == repository_root()
        assert (COMPOSE.parent / build["context"] / build["dockerfile"]).resolve() == DOCKERFILE
    assert _compose_default(_environment("code-server")["DAGSTER_CURRENT_IMAGE"]) == image
    helm_image = _deployment()["image"]
    assert f"{helm_image['repository']}:{helm_image['tag']}" == image
    assert f"-t {image} " in DOCKERFILE.read_text(), "the Dockerfile's build instructions name another image"


def test_the_code_server_serves_the_module_and_location_the_repository_defines():
    module = _repository_location()["module_name"]
    pyproject = tomllib.loads((repository_root() / "pyproject.toml").read_text())
    assert pyproject["tool"]["dg"]["project"]["code_location_target_module"] == module
    command = Dockerfile.read().cmd()
    assert command[:3] == ["dagster", "code-server", "start"]
    assert option(command, "-m", "--module-name") == module
    assert option(_deployment()["codeServerArgs"], "-m", "--module-name") == module
    assert option(command, "--location-name") == _repository_location()["location_name"]
    assert workspace_server()["location_name"] == _repository_location()["location_name"]


def test_the_grpc_port_is_the_same_everywhere():
    dockerfile = Dockerfile.read()
    command = dockerfile.cmd()
    port = int(option(command, "-p", "--port"))
    assert option(command, "-h", "--host") == "0.0.0.0", "the code server must listen beyond the container"
    assert port in dockerfile.exposed_ports()
    server = workspace_server()
    assert server["host"] in _services(), f"workspace.yaml points at {server['host']}, not a compose service"
    assert server["host"] == "code-server" and server["port"] == port
    code_server = _services()["code-server"]
    assert "command" not in code_server, "compose runs the image's own command"
    assert [int(p) for p in code_server["expose"]] == [port]
    assert option(code_server["healthcheck"]["test"], "-p") == str(port)
    assert _deployment()["port"] == port


def test_the_webserver_port_is_the_same_everywhere():
    command = _services()["webserver"]["command"]
    port = int(option(command, "-p", "--port"))
    assert option(command, "-h", "--host") == "0.0.0.0"
    assert port in Dockerfile.read().exposed_ports()
    [published] = _services()["webserver"]["ports"]
    assert int(published.rsplit(":", 1)[1]) == port
    webserver = helm_values()["dagsterWebserver"]
    assert webserver["service"]["port"] == port
    assert webserver["readinessProbe"]["httpGet"]["port"] == port


def test_the_webserver_and_the_daemon_load_the_workspace_that_points_at_the_code_server():
    for name in ("webserver", "daemon"):
        command = _services()[name]["command"]
        mounts = {target: source for source, target, *_ in (v.split(":") for v in _services()[name]["volumes"])}
        workspace = option(command, "-w", "--workspace")
        assert (COMPOSE.parent / mounts[workspace]).resolve() == WORKSPACE
        assert _services()[name]["depends_on"]["code-server"]["condition"] == "service_healthy"
    assert _services()["code-server"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert _services()["migrate"]["command"] == ["precog", "db", "upgrade"]


def test_every_setting_the_code_location_reads_is_set_in_compose_and_helm():
    assert set(_environment("code-server")) >= CODE_LOCATION_SETTINGS | DAGSTER_INSTANCE
    assert set(_helm_environment()) >= CODE_LOCATION_SETTINGS
    # The webserver and the daemon reach the code location over gRPC: Dagster's instance only.
    assert set(_environment("webserver")) == set(_environment("daemon")) == DAGSTER_INSTANCE
    assert set(_environment("migrate")) == {"PRECOG_DATABASE_URL"}


@pytest.mark.parametrize("name", sorted(CODE_LOCATION_SETTINGS - DEPLOYMENT_CHOICES - {"PRECOG_DATABASE_URL"}))
def test_compose_and_helm_default_each_setting_as_the_registry_does(name):
    assert _compose_default(_environment("code-server")[name]) == SETTINGS_BY_NAME[name].default
    assert _helm_environment()[name]["value"] == SETTINGS_BY_NAME[name].default


def test_every_precog_variable_in_deploy_is_a_setting():
    named = set(_environment("code-server")) | set(_helm_environment()) | set(Dockerfile.read().env())
    ours = {n for n in named if n.startswith(("PRECOG_", "KALSHI_", "ESPN_"))}
    assert ours <= set(SETTINGS_BY_NAME), ours - set(SETTINGS_BY_NAME)


def test_production_runs_schedules_at_production_cadences():
    assert _environment("code-server")["PRECOG_DEV_AUTOMATION"] == "0"
    assert _helm_environment()["PRECOG_DEV_AUTOMATION"]["value"] == "0"


def test_dagster_home_is_the_same_folder_in_the_image_compose_and_helm():
    home = Dockerfile.read().env()["DAGSTER_HOME"]
    assert _environment("webserver")["DAGSTER_HOME"] == _environment("code-server")["DAGSTER_HOME"] == home
    assert helm_values()["global"]["dagsterHome"] == home
    # The image carries the repository's dagster.yaml there.
    assert "dagster.yaml ${DAGSTER_HOME}/dagster.yaml" in " ".join(Dockerfile.read().all("COPY"))


def test_dagster_storage_and_the_warehouse_are_two_databases_of_the_compose_postgres():
    dagster_url = _environment("webserver")["DAGSTER_PG_URL"]
    warehouse_url = _environment("code-server")["PRECOG_DATABASE_URL"]
    assert "@postgres:5432/" in dagster_url and "@postgres:5432/" in warehouse_url
    assert warehouse_url.rsplit("/", 1)[1] == _services()["postgres"]["environment"]["POSTGRES_DB"]
    # `precog db upgrade` (the migrate service, without DAGSTER_PG_URL) creates Dagster's database
    # beside the warehouse under this name.
    assert dagster_url.rsplit("/", 1)[1] == DAGSTER_DATABASE != warehouse_url.rsplit("/", 1)[1]
    assert _environment("migrate")["PRECOG_DATABASE_URL"] == warehouse_url


def test_runs_and_the_webserver_share_dagsters_local_storage():
    """Compute logs are written where a run executes (the code server) and read by the webserver."""
    storage = f"{Dockerfile.read().env()['DAGSTER_HOME']}/storage"
    for name in ("code-server", "webserver", "daemon"):
        mounts = {target: source for source, target, *_ in (v.split(":") for v in _services()[name]["volumes"])}
        assert mounts.get(storage) == "dagster-storage", name
    assert "dagster-storage" in compose()["volumes"]
    assert "mkdir -p ${DAGSTER_HOME}/storage" in " ".join(Dockerfile.read().all("RUN"))


def test_the_kalshi_key_is_a_secret_file_in_compose_and_helm():
    code_server = _services()["code-server"]
    [secret] = code_server["secrets"]
    assert "file" in compose()["secrets"][secret]
    assert _environment("code-server")["KALSHI_PRIVATE_KEY_PATH"] == f"/run/secrets/{secret}"

    path = PurePosixPath(_helm_environment()["KALSHI_PRIVATE_KEY_PATH"]["value"])
    deployment = _deployment()
    [mount] = [m for m in deployment["volumeMounts"] if PurePosixPath(m["mountPath"]) == path.parent]
    assert mount.get("readOnly") is True
    [volume] = [v for v in deployment["volumes"] if v["name"] == mount["name"]]
    assert path.name in [item["path"] for item in volume["secret"]["items"]]
    assert deployment["includeConfigInLaunchedRuns"]["enabled"] is True, "runs need the key too"
    assert _helm_environment()["PRECOG_DATABASE_URL"]["valueFrom"]["secretKeyRef"]["name"]


def test_the_image_runs_as_the_non_root_user_the_chart_expects():
    dockerfile = Dockerfile.read()
    assert dockerfile.user() not in ("root", "0")
    uid = int(re.search(r"useradd .*--uid (\d+)", " ".join(dockerfile.all("RUN"))).group(1))
    assert uid != 0
    assert _deployment()["podSecurityContext"]["runAsUser"] == uid
    assert _deployment()["podSecurityContext"]["fsGroup"] == uid, "the key file is readable through its group"
    run_pods = helm_values()["runLauncher"]["config"]["k8sRunLauncher"]["runK8sConfig"]["podSpecConfig"]
    assert run_pods["securityContext"]["runAsUser"] == uid
    # The chart and the K8s run launcher pass whole command lines as the container's args.
    assert dockerfile.all("ENTRYPOINT") == []


def test_the_helm_values_use_the_charts_keys_k8s_run_launcher_and_external_postgres():
    values = helm_values()
    assert set(values) <= CHART_TOP_LEVEL, set(values) - CHART_TOP_LEVEL
    assert set(_deployment()) <= CHART_USER_DEPLOYMENT, set(_deployment()) - CHART_USER_DEPLOYMENT
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    launcher = values["runLauncher"]["config"]["k8sRunLauncher"]
    assert set(launcher) <= CHART_K8S_RUN_LAUNCHER, set(launcher) - CHART_K8S_RUN_LAUNCHER
    assert set(values["postgresql"]) <= CHART_POSTGRESQL
    assert values["postgresql"]["enabled"] is False and values["postgresql"]["postgresqlHost"]
    assert values["dagster-user-deployments"]["enabled"] is True


def test_the_helm_instance_keeps_the_run_queue_pools_and_run_monitoring_of_dagster_yaml():
    instance = load_yaml(repository_root() / "dagster.yaml")
    values = helm_values()
    concurrency = values["concurrency"]
    assert concurrency["enabled"] is True
    assert concurrency["runs"]["maxConcurrentRuns"] == instance["concurrency"]["runs"]["max_concurrent_runs"]
    assert concurrency["runs"]["tagConcurrencyLimits"] == instance["concurrency"]["runs"]["tag_concurrency_limits"]
    assert concurrency["pools"] == {"granularity": instance["concurrency"]["pools"]["granularity"],
                                    "defaultLimit": instance["concurrency"]["pools"]["default_limit"]}
    monitoring = values["dagsterDaemon"]["runMonitoring"]
    assert set(monitoring) <= CHART_RUN_MONITORING
    assert {_snake(k): v for k, v in monitoring.items()} == instance["run_monitoring"]
    for loop in ("sensors", "schedules"):
        assert {_snake(k): v for k, v in values["dagsterDaemon"][loop].items()} == instance[loop]
    assert values["retention"]["sensor"]["purgeAfterDays"] == instance["retention"]["sensor"]["purge_after_days"]
    assert values["retention"]["schedule"]["purgeAfterDays"] == instance["retention"]["schedule"]["purge_after_days"]
    assert values["telemetry"] == instance["telemetry"]


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()
