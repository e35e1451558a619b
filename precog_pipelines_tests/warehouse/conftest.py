"""Fixtures of the warehouse-level trading tests."""

import pytest

from precog_pipelines.lib.warehouse.server import connect
from precog_pipelines_tests.support import factories as f


@pytest.fixture
def position_key(warehouse_url):
    """A paper position of the default strategy: 40 contracts at 0.57, entry fee 0.69."""
    with connect(warehouse_url) as conn:
        return f.paper_position(conn, f.session_start())
