"""The import rules of ARCHITECTURE.md, enforced: each layer imports only the layers below it,
``lib/`` never imports Dagster, and no ``defs/`` domain imports another."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import precog_pipelines

PACKAGE = Path(precog_pipelines.__file__).parent
LAYERS = ("lib", "sandbox", "resources", "core", "defs", "cli")
# What each layer may import of the package (besides itself); "dagster" is the framework.
ALLOWED = {
    "lib": set(),
    "sandbox": {"lib"},
    "resources": {"lib", "dagster"},
    "core": {"lib", "resources", "dagster"},
    "defs": {"lib", "resources", "core", "dagster"},
    "cli": {"lib", "sandbox"},
}


def _layer(module: Path) -> str | None:
    parts = module.relative_to(PACKAGE).parts
    return parts[0] if parts[0] in LAYERS else None


def _imports(module: Path) -> set[str]:
    """Top-level names a module imports: package layers as ``precog_pipelines.<layer>[.<domain>]``."""
    tree = ast.parse(module.read_text(), filename=str(module))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if _layer(p) is not None)


@pytest.mark.parametrize("module", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_each_module_imports_only_the_layers_below_it(module):
    layer = _layer(module)
    allowed = ALLOWED[layer] | {layer}
    for name in _imports(module):
        parts = name.split(".")
        if parts[0] == "dagster" or parts[0].startswith("dagster_"):
            assert "dagster" in allowed, f"{module.relative_to(PACKAGE)} imports {name}: {layer}/ is plain Python"
        elif parts[0] == "precog_pipelines" and len(parts) > 1 and parts[1] in LAYERS:
            assert parts[1] in allowed, f"{module.relative_to(PACKAGE)} imports {name}: {layer}/ may not import {parts[1]}/"


@pytest.mark.parametrize("module", [p for p in _modules() if _layer(p) == "defs"],
                         ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_defs_domain_imports_another(module):
    parts = module.relative_to(PACKAGE).parts
    domain = parts[1] if len(parts) > 2 else None  # defs/resources.py belongs to no domain
    for name in _imports(module):
        imported = name.split(".")
        if imported[:2] == ["precog_pipelines", "defs"] and len(imported) > 2:
            assert imported[2] == domain, f"{module.relative_to(PACKAGE)} imports {name}: share through core/ or lib/"


def test_the_rules_see_every_layer():
    assert {_layer(p) for p in _modules()} == set(LAYERS)
