"""The re-request run keys of a tick's due work, looked up together in the run history of a
PostgreSQL-backed Dagster instance (core/run_attempts.py): each piece of work is numbered by its
own failed runs only, whatever the batching."""

import dagster as dg
import pytest

from precog_pipelines.core.run_attempts import attempt_run_keys


@dg.op(config_schema={"fail": bool})
def attempt_op(context: dg.OpExecutionContext) -> None:
    if context.op_config["fail"]:
        raise RuntimeError("this attempt fails")


@dg.job
def attempt_job() -> None:
    attempt_op()


def _run(instance: dg.DagsterInstance, position: str, rule: str, *, fail: bool) -> None:
    result = attempt_job.execute_in_process(
        run_config={"ops": {"attempt_op": {"config": {"fail": fail}}}}, instance=instance,
        tags={"precog/position": position, "precog/exit_rule": rule}, raise_on_error=False)
    assert result.success is not fail


def _work(position: str, rule: str) -> tuple[str, dict[str, str]]:
    return f"exit:{position}:{rule}", {"precog/position": position, "precog/exit_rule": rule}


@pytest.fixture
def history(private_dagster_instance: dg.DagsterInstance) -> dg.DagsterInstance:
    instance = private_dagster_instance
    for position, rule, failures in (("A", "stop_loss", 2), ("B", "stop_loss", 1), ("B", "profit_target", 5),
                                     ("A", "profit_target", 1)):
        for _ in range(failures):
            _run(instance, position, rule, fail=True)
    _run(instance, "C", "stop_loss", fail=False)
    return instance


def test_each_piece_of_work_counts_only_its_own_failed_runs_in_any_batching(history):
    """Position B and rule profit_target are both asked about, and (A, profit_target) failed: none of
    that counts for (C, profit_target). A succeeded run is no failure. With one or two pieces
    per query, a run returned by two queries ((B, stop_loss) matches both chunks) counts once."""
    work = dict(_work(p, r) for p, r in (("A", "stop_loss"), ("B", "stop_loss"), ("B", "profit_target"),
                                         ("C", "stop_loss"), ("C", "profit_target")))
    expected = {"exit:A:stop_loss": "exit:A:stop_loss#3", "exit:B:stop_loss": "exit:B:stop_loss#2",
                "exit:B:profit_target": None, "exit:C:stop_loss": "exit:C:stop_loss",
                "exit:C:profit_target": "exit:C:profit_target"}
    for values_per_query in (1, 2, 1_000):
        assert attempt_run_keys(history, attempt_job.name, work, max_attempts=5,
                                values_per_query=values_per_query) == expected, values_per_query


def test_other_jobs_failures_do_not_count(history):
    assert attempt_run_keys(history, "position_exit_job", dict([_work("A", "stop_loss")]), max_attempts=5) == {
        "exit:A:stop_loss": "exit:A:stop_loss"}


def test_work_with_different_tag_names_is_refused_naming_them(private_dagster_instance):
    with pytest.raises(ValueError, match=r"precog/ticker"):
        attempt_run_keys(private_dagster_instance, attempt_job.name,
                         {"exit:A:stop_loss": {"precog/position": "A", "precog/exit_rule": "stop_loss"},
                          "settle:T": {"precog/ticker": "T"}}, max_attempts=5)
