"""Conversions between the URL spellings our drivers want.

Users give one ``postgresql://`` URL. SQLAlchemy needs the psycopg 3 dialect named in it;
Dagster's own storage (dagster-postgres) uses psycopg2 and wants the plain form.
"""

from __future__ import annotations

from sqlalchemy.engine import URL, make_url

_POSTGRES_SCHEMES = {"postgres", "postgresql", "postgresql+psycopg", "postgresql+psycopg2"}


class InvalidDatabaseUrl(ValueError):
    """The URL is not a PostgreSQL URL we can use."""


def _parse(url: str) -> URL:
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError with the raw URL in it
        raise InvalidDatabaseUrl("database URL is not a valid URL (expected postgresql://...)") from exc
    if parsed.drivername not in _POSTGRES_SCHEMES:
        raise InvalidDatabaseUrl(
            f"database URL scheme {parsed.drivername!r} is not PostgreSQL (expected postgresql://...)"
        )
    return parsed


def sqlalchemy_url(url: str) -> str:
    """The URL with SQLAlchemy's psycopg 3 dialect."""
    return _parse(url).set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def libpq_url(url: str) -> str:
    """The plain ``postgresql://`` form that libpq, psycopg2 and dagster-postgres accept."""
    return _parse(url).set(drivername="postgresql").render_as_string(hide_password=False)


def with_database(url: str, database: str) -> str:
    """The same server and credentials, another database."""
    return _parse(url).set(database=database).render_as_string(hide_password=False)


def database_name(url: str) -> str:
    return _parse(url).database or "postgres"


def redacted(url: str) -> str:
    """The URL safe to print: the password replaced by ``***``."""
    try:
        return _parse(url).render_as_string(hide_password=True)
    except InvalidDatabaseUrl:
        return "<invalid database URL>"
