"""The warehouse resource, exercised through Dagster on real PostgreSQL."""


import dagster as dg

from precog_pipelines.lib.warehouse import migrations
from precog_pipelines.lib.warehouse.server import connect
from precog_pipelines.resources.warehouse import WarehouseResource


@dg.asset
def team_count_probe(warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.begin() as conn:
        teams = conn.exec_driver_sql("SELECT count(*) FROM teams").scalar_one()
    return dg.MaterializeResult(metadata={"teams": teams})


def test_resource_migrates_an_empty_database_on_first_use(empty_database_url, dagster_instance):
    result = dg.materialize(
        [team_count_probe],
        resources={"warehouse": WarehouseResource(database_url=empty_database_url)},
        instance=dagster_instance,
    )

    assert result.success
    materialization = result.asset_materializations_for_node("team_count_probe")[0]
    assert materialization.metadata["teams"].value == 32
    assert migrations.status(empty_database_url).pending == []


def test_transaction_rolls_back_when_the_asset_fails(warehouse_url, dagster_instance):
    @dg.asset
    def failing_writer(warehouse: WarehouseResource) -> None:
        with warehouse.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO alerts (severity, component, message, fingerprint) "
                "VALUES ('info', 'probe', 'half-written', 'probe')"
            )
            raise RuntimeError("boom after the insert")

    result = dg.materialize(
        [failing_writer],
        resources={"warehouse": WarehouseResource(database_url=warehouse_url)},
        instance=dagster_instance,
        raise_on_error=False,
    )

    assert not result.success
    with connect(warehouse_url) as conn:
        assert conn.execute("SELECT count(*) FROM alerts").fetchone()[0] == 0
