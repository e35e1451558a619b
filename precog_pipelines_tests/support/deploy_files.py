"""The files of ``deploy/`` as data, for the tests that check they agree with each other and the
test that runs the same topology as processes."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from precog_pipelines.lib.settings import repository_root

DEPLOY = repository_root() / "deploy"
DOCKERFILE = DEPLOY / "Dockerfile"
COMPOSE = DEPLOY / "docker-compose.yaml"
WORKSPACE = DEPLOY / "workspace.yaml"
HELM_VALUES = DEPLOY / "helm" / "values.yaml"


@dataclass(frozen=True)
class Dockerfile:
    """The instructions of a Dockerfile that the deployment depends on."""

    instructions: list[tuple[str, str]]  # (INSTRUCTION, arguments), continuation lines joined

    @classmethod
    def read(cls, path: Path = DOCKERFILE) -> Dockerfile:
        instructions, pending = [], ""
        for line in path.read_text(encoding="utf-8").splitlines():
            stripped = line.strip()
            if not pending and (not stripped or stripped.startswith("#")):
                continue
            pending += stripped.removesuffix("\\").strip() + " "
            if not stripped.endswith("\\"):
                keyword, _, arguments = pending.strip().partition(" ")
                instructions.append((keyword.upper(), arguments.strip()))
                pending = ""
        return cls(instructions)

    def all(self, keyword: str) -> list[str]:
        return [arguments for name, arguments in self.instructions if name == keyword]

    def cmd(self) -> list[str]:
        """The last CMD, in exec form (a JSON array) as the Helm chart's args need."""
        return json.loads(self.all("CMD")[-1])

    def env(self) -> dict[str, str]:
        """Every ENV ``NAME=value`` pair."""
        pairs: dict[str, str] = {}
        for arguments in self.all("ENV"):
            for word in shlex.split(arguments):
                name, _, value = word.partition("=")
                pairs[name] = value
        return pairs

    def exposed_ports(self) -> set[int]:
        return {int(port.split("/")[0]) for arguments in self.all("EXPOSE") for port in arguments.split()}

    def user(self) -> str:
        return self.all("USER")[-1]


def option(command: list[str], *names: str) -> str:
    """The value following the first of ``names`` in ``command``."""
    for index, word in enumerate(command[:-1]):
        if word in names:
            return command[index + 1]
    raise AssertionError(f"none of {names} in {command}")


def with_option(command: list[str], value: str, *names: str) -> list[str]:
    """``command`` with the value following ``names`` replaced."""
    index = next(i for i, word in enumerate(command[:-1]) if word in names)
    return [*command[:index + 1], value, *command[index + 2:]]


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def compose() -> dict[str, Any]:
    return load_yaml(COMPOSE)


def helm_values() -> dict[str, Any]:
    return load_yaml(HELM_VALUES)


def workspace_server(path: Path = WORKSPACE) -> dict[str, Any]:
    """The one ``grpc_server`` entry of a workspace file."""
    [entry] = load_yaml(path)["load_from"]
    return entry["grpc_server"]
