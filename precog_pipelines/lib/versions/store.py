"""Creating, activating and deactivating strategy and model versions, each recorded in the
append-only ``version_activations`` (who, when, why) in the same transaction as the change.

A version row is never edited: ``create`` inserts a new one (inactive; activating it is a
separate, recorded decision) and refuses a name and version that exist. Activation only flips
``is_active``, which the immutability trigger of ``strategies`` and ``probability_models`` allows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from precog_pipelines.lib.elo.config import EloConfig
from precog_pipelines.lib.trading.strategy import parse_strategy
from precog_pipelines.lib.versions.files import ModelSpec, StrategySpec


class VersionError(ValueError):
    """A version that does not exist, exists already, or is already in the asked state; one line."""


@dataclass(frozen=True)
class _Kind:
    table: str
    name_column: str
    version_column: str


KINDS = {
    "strategy": _Kind("strategies", "strategy_name", "strategy_version"),
    "model": _Kind("probability_models", "model_name", "model_version"),
}


@dataclass(frozen=True)
class VersionEvent:
    action: str
    actor: str
    reason: str | None
    at: datetime


@dataclass(frozen=True)
class VersionRow:
    kind: str
    id: int
    name: str
    version: str
    is_active: bool
    in_use: bool  # what the pipeline uses: every active model; the newest active version of a strategy
    created_at: datetime
    description: str | None
    config: dict[str, Any]
    league: str | None
    last_event: VersionEvent | None

    @property
    def label(self) -> str:
        return f"{self.name} v{self.version}"


def _record(conn: psycopg.Connection, kind: str, version_id: int, name: str, version: str, action: str,
            actor: str, reason: str | None) -> None:
    conn.execute("INSERT INTO version_activations (kind, version_id, name, version, action, actor, reason) "
                 "VALUES (%s, %s, %s, %s, %s, %s, %s)", (kind, version_id, name, version, action, actor, reason))


def _actor(actor: str) -> str:
    actor = actor.strip()
    if not 1 <= len(actor) <= 200:
        raise VersionError(f"actor {actor!r} must be 1 to 200 characters")
    return actor


def create_strategy(conn: psycopg.Connection, spec: StrategySpec, actor: str) -> int:
    """Insert the new, inactive strategy version and record who created it; its id."""
    row = conn.execute(
        "INSERT INTO strategies (strategy_name, strategy_version, config, description, is_active) "
        "VALUES (%s, %s, %s, %s, false) ON CONFLICT (strategy_name, strategy_version) DO NOTHING RETURNING id",
        (spec.name, spec.version, Jsonb(spec.config), spec.description)).fetchone()
    if row is None:
        raise VersionError(f"strategy {spec.name} v{spec.version} exists already; versions are never edited: "
                           "create a new version number")
    _record(conn, "strategy", row[0], spec.name, spec.version, "created", _actor(actor), None)
    return row[0]


def create_model(conn: psycopg.Connection, spec: ModelSpec, actor: str) -> int:
    """Insert the new, inactive model version and record who created it; its id."""
    row = conn.execute(
        "INSERT INTO probability_models (model_name, model_version, model_type, league, config, description, "
        "is_active) VALUES (%s, %s, %s, %s, %s, %s, false) ON CONFLICT (model_name, model_version) DO NOTHING "
        "RETURNING id",
        (spec.name, spec.version, spec.model_type, spec.league, Jsonb(spec.config), spec.description)).fetchone()
    if row is None:
        raise VersionError(f"model {spec.name} v{spec.version} exists already; versions are never edited: "
                           "create a new version number")
    _record(conn, "model", row[0], spec.name, spec.version, "created", _actor(actor), None)
    return row[0]


@dataclass(frozen=True)
class Activation:
    """The outcome of an activation or deactivation, with what the pipeline now uses."""

    version: VersionRow
    now_in_use: list[str]


def set_active(conn: psycopg.Connection, kind: str, name: str, version: str, active: bool, actor: str,
               reason: str) -> Activation:
    """Activate or deactivate one version and record it; refuses a missing version, one already in
    that state, an empty reason, and activating a version whose config does not validate (a row
    written by hand SQL before this command existed)."""
    spec = KINDS[kind]
    reason = reason.strip()
    if not 1 <= len(reason) <= 2000:
        raise VersionError("--reason must say why, in 1 to 2000 characters")
    row = conn.execute(
        f"SELECT id, is_active, config FROM {spec.table} WHERE {spec.name_column} = %s "
        f"AND {spec.version_column} = %s FOR UPDATE", (name, version)).fetchone()
    if row is None:
        raise VersionError(f"no {kind} {name} v{version}")
    version_id, is_active, config = row
    if is_active == active:
        raise VersionError(f"{kind} {name} v{version} is already {'active' if active else 'inactive'}")
    if active:
        if kind == "strategy":
            parse_strategy(version_id, name, version, config)
        else:
            EloConfig.from_mapping(config, source=f"model {name} v{version}")
            _require_ratings(conn, version_id, name, version)
    conn.execute(f"UPDATE {spec.table} SET is_active = %s WHERE id = %s", (active, version_id))
    _record(conn, kind, version_id, name, version, "activated" if active else "deactivated", _actor(actor), reason)
    shown = show_version(conn, kind, name, version)
    return Activation(shown, [r.label for r in list_versions(conn, kind) if r.in_use and
                              (r.name == name if kind == "strategy" else r.league == shown.league)])


def _require_ratings(conn: psycopg.Connection, model_id: int, name: str, version: str) -> None:
    """Refuse a model version whose ratings lag the league's: edges start a team without a stored
    rating from the new-team rating, so an unrated version would price every game as a coin
    flip plus home field. One season behind is allowed: the elo_ratings asset rates the season
    in progress for every active version."""
    mine, league_latest, league = conn.execute(
        "SELECT (SELECT max(season) FROM elo_rating_history WHERE model_id = m.id), "
        "(SELECT max(h.season) FROM elo_rating_history h JOIN probability_models o ON o.id = h.model_id "
        " WHERE o.league = m.league AND o.id <> m.id), m.league FROM probability_models m WHERE m.id = %s",
        (model_id,)).fetchone()
    if league_latest is not None and (mine is None or mine < league_latest - 1):
        rated = f"rated through {mine}" if mine is not None else "not rated"
        raise VersionError(
            f"model {name} v{version} is {rated} but {league} ratings reach {league_latest}: its edges would start "
            f"teams from scratch; rate it first (precog model evaluate --model {name}:{version} --output F.csv)")


_LIST = {
    "strategy": """
        SELECT s.id, s.strategy_name, s.strategy_version, s.is_active,
               s.is_active AND s.id = (SELECT n.id FROM strategies n WHERE n.strategy_name = s.strategy_name
                                       AND n.is_active ORDER BY string_to_array(n.strategy_version, '.')::int[]
                                       DESC LIMIT 1),
               s.created_at, s.description, s.config, NULL
        FROM strategies s
        ORDER BY s.strategy_name, string_to_array(s.strategy_version, '.')::int[]""",
    "model": """
        SELECT m.id, m.model_name, m.model_version, m.is_active, m.is_active, m.created_at, m.description,
               m.config, m.league
        FROM probability_models m
        ORDER BY m.league, m.model_name, string_to_array(m.model_version, '.')::int[]""",
}


def _events(conn: psycopg.Connection, kind: str, version_id: int | None = None) -> dict[int, list[VersionEvent]]:
    rows = conn.execute(
        "SELECT version_id, action, actor, reason, at FROM version_activations WHERE kind = %s "
        "AND (%s::int IS NULL OR version_id = %s) ORDER BY id", (kind, version_id, version_id)).fetchall()
    events: dict[int, list[VersionEvent]] = {}
    for vid, *event in rows:
        events.setdefault(vid, []).append(VersionEvent(*event))
    return events


def list_versions(conn: psycopg.Connection, kind: str) -> list[VersionRow]:
    """Every version of ``kind`` with its state and latest recorded event."""
    events = _events(conn, kind)
    return [VersionRow(kind, r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8],
                       (events.get(r[0]) or [None])[-1]) for r in conn.execute(_LIST[kind]).fetchall()]


def show_version(conn: psycopg.Connection, kind: str, name: str, version: str) -> VersionRow:
    for row in list_versions(conn, kind):
        if row.name == name and row.version == version:
            return row
    raise VersionError(f"no {kind} {name} v{version}")


def history(conn: psycopg.Connection, kind: str, version_id: int) -> list[VersionEvent]:
    """Every recorded creation, activation and deactivation of the version, oldest first."""
    return _events(conn, kind, version_id).get(version_id, [])


@dataclass(frozen=True)
class ModelUse:
    """What a model version produced: its current edges and the positions opened from them."""

    current_edges: int
    open_positions: int
    closed_positions: int


def model_use(conn: psycopg.Connection, model_id: int) -> ModelUse:
    edges = conn.execute("SELECT count(*) FROM edges_current WHERE model_id = %s", (model_id,)).fetchone()[0]
    open_, closed = conn.execute(
        "SELECT count(*) FILTER (WHERE p.status = 'open'), count(*) FILTER (WHERE p.status <> 'open') "
        "FROM positions_current p JOIN edges e ON e.id = p.edge_id WHERE e.model_id = %s", (model_id,)).fetchone()
    return ModelUse(edges, open_, closed)


def positions_by_model(conn: psycopg.Connection, strategy_id: int | None = None) -> list[dict[str, Any]]:
    """Current positions (of one strategy, or all) counted by the model version whose edge opened
    them: a position records its edge, and the edge its model version."""
    rows = conn.execute(
        "SELECT coalesce(m.model_name || ' v' || m.model_version, 'no edge'), "
        "count(*) FILTER (WHERE p.status = 'open'), count(*) FILTER (WHERE p.status <> 'open') "
        "FROM positions_current p LEFT JOIN edges e ON e.id = p.edge_id "
        "LEFT JOIN probability_models m ON m.id = e.model_id "
        "WHERE %s::int IS NULL OR p.strategy_id = %s GROUP BY 1 ORDER BY 1", (strategy_id, strategy_id)).fetchall()
    return [{"model": r[0], "open": r[1], "closed": r[2]} for r in rows]
