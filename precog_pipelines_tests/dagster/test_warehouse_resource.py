"""The warehouse resource, exercised through Dagster on real PostgreSQL."""


import dagster as dg

from precog_pipelines.lib.warehouse import migrations
from precog_pipelines.lib.warehouse.server import connect
from precog_pipelines.resources.warehouse import WarehouseResource


@dg.asset
def team_count_probe(warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connection() as conn:
        teams = conn.execute("SELECT count(*) FROM teams").fetchone()[0]
    return dg.MaterializeResult(metadata={"teams": teams})


def test_a_run_against_an_unmigrated_warehouse_fails_saying_which_command_to_run(empty_database_url, dagster_instance):
    result = dg.materialize(
        [team_count_probe],
        resources={"warehouse": WarehouseResource(database_url=empty_database_url)},
        instance=dagster_instance,
        raise_on_error=False,
    )

    assert not result.success
    [failure] = [e for e in result.all_events if e.is_step_failure]
    message = failure.step_failure_data.error.message
    assert "pending migration(s) (0001_reference_data.sql" in message and "run `precog db upgrade`" in message
    assert len(migrations.status(empty_database_url).pending) == len(migrations.discover(migrations.default_sql_dir()))

    migrations.upgrade(empty_database_url)  # what `precog db upgrade` does
    again = dg.materialize([team_count_probe], resources={"warehouse": WarehouseResource(
        database_url=empty_database_url)}, instance=dagster_instance)
    assert again.asset_materializations_for_node("team_count_probe")[0].metadata["teams"].value == 32


def test_transaction_rolls_back_when_the_asset_fails(warehouse_url, dagster_instance):
    @dg.asset
    def failing_writer(warehouse: WarehouseResource) -> None:
        with warehouse.connection() as conn:
            conn.execute(
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
