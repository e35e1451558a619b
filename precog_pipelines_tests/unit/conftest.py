"""Unit tests: plain functions, the clients against the in-process sandbox, no PostgreSQL and no
Dagster run. Asking for a database here is a mistake the suite reports, not a slow start."""

import pytest


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    pytest.fail("a unit test asked for PostgreSQL; move it to warehouse/ or dagster/")
