"""Packaging for Precog Pipelines.

Install for development with ``pip install -e ".[dev]"``; the Dagster project
configuration (``[tool.dg]``) lives in ``pyproject.toml`` next to this file.
"""

from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).parent


class BuildWithMigrations(build_py):
    """Ship the top-level ``sql/`` migrations inside the package (``precog_pipelines/sql``) of a
    wheel or non-editable install, so `precog db upgrade` finds them wherever it is installed;
    an editable install reads ``sql/`` of the checkout."""

    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / "precog_pipelines" / "sql"
        target.mkdir(parents=True, exist_ok=True)
        for migration in sorted((ROOT / "sql").glob("*.sql")):
            self.copy_file(str(migration), str(target / migration.name))

setup(
    name="precog-pipelines",
    version="0.1.0",
    description="Dagster data platform for trading sports prediction markets on Kalshi.",
    long_description=(ROOT / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    python_requires=">=3.11,<3.14",
    packages=find_packages(include=["precog_pipelines", "precog_pipelines.*"]),
    # The NFL history the product rates (and its attribution) and the default alert routing ship inside
    # the package.
    package_data={"precog_pipelines": ["data/nfl/*.csv", "data/nfl/README.md", "lib/alert_routing.yaml"]},
    # Migrations stay in the top-level sql/ folder (design card); BuildWithMigrations ships them.
    cmdclass={"build_py": BuildWithMigrations},
    install_requires=[
        "dagster>=1.13.27,<1.14",
        "dagster-postgres>=0.29.27,<0.30",
        "dagster-webserver>=1.13.27,<1.14",
        "dagster-dg-cli>=1.13.27,<1.14",
        "sqlalchemy>=2.0.30,<2.1",  # dagster-postgres expects postgresql:// to mean psycopg2, as 2.0 does
        "psycopg[binary]>=3.2,<4",
        # PostgreSQL's own parser (libpg_query): `precog db upgrade` refuses a migration that
        # manages its own transaction before running it.
        "pglast>=7,<9",
        "pandas>=2.2,<4",
        "requests>=2.32,<3",
        "cryptography>=43,<51",
        "great-expectations>=1.24,<2",
        "scipy>=1.11,<2",  # Nelder-Mead for `precog model fit-elo`
        "pgserver>=0.1.4,<0.2",
        "click>=8.1,<9",
        # `precog positions` and `precog kalshi positions|fills|orders|settlements` tables (dagster needs it too)
        "tabulate>=0.9,<0.11",
        "tenacity>=9,<10",
        "pyrate-limiter>=4.5,<5",
        "pyyaml>=6,<7",  # strategy and model version files, and the alert routing file
    ],
    extras_require={
        # The container image installs it (deploy/Dockerfile): run pods under the Helm chart load an
        # instance whose run launcher is dagster_k8s.K8sRunLauncher.
        "k8s": ["dagster-k8s>=0.29.27,<0.30"],
        "dev": [
            "pytest>=8.3,<10",
            "pytest-timeout>=2.3,<3",
            # Two workers (pyproject's addopts): the end-to-end tests on one, one at a time.
            "pytest-xdist>=3.6,<4",
            # Drives the system Chromium (/usr/bin/chromium): no `playwright install` download.
            "playwright>=1.49,<2",
            "ruff>=0.8,<1",
            # The packaging test builds a wheel with the venv's own setuptools (no download).
            "wheel>=0.43,<1",
            # A local SMTP server: the alert routing tests read the mail the email channel sends.
            "aiosmtpd>=1.4,<2",
        ],
    },
    entry_points={
        "console_scripts": ["precog=precog_pipelines.cli:main"],
    },
)
