"""Conversions between the URL spellings our drivers want.

Users give one ``postgresql://`` URL (parsed with SQLAlchemy's URL type); libpq, psycopg and
Dagster's own storage (dagster-postgres) want the plain form.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

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


def libpq_url(url: str) -> str:
    """The plain ``postgresql://`` form that libpq, psycopg2 and dagster-postgres accept."""
    return _parse(url).set(drivername="postgresql").render_as_string(hide_password=False)


def with_database(url: str, database: str) -> str:
    """The same server and credentials, another database."""
    return _parse(url).set(database=database).render_as_string(hide_password=False)


def database_name(url: str) -> str:
    return _parse(url).database or "postgres"


def named_database(url: str) -> str | None:
    """The database the URL names, or None when it names none (``postgresql://``)."""
    return _parse(url).database or None


def redacted(url: str) -> str:
    """The database URL safe to print: the user-info password and any secret-looking query
    parameter (``?password=``, ``sslpassword=``...: libpq takes every connection option there)
    replaced by ``***``."""
    try:
        return redact_url(_parse(url).render_as_string(hide_password=True))
    except InvalidDatabaseUrl:
        return "<invalid database URL>"


_SECRET_PARAMETER = re.compile(r"pass|pwd|secret|token|key|sig|auth|credential", re.IGNORECASE)


def redact_url(url: str) -> str:
    """Any URL safe to print: the user-info password and secret-looking query values as ``***``."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if parts.password is not None:
            netloc = netloc.replace(f":{parts.password}@", ":***@", 1)
    except ValueError:
        # Unparseable: show it only when it cannot hold a user-info password.
        return url if "@" not in url else "<unreadable URL>"
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    if netloc == parts.netloc and not any(_SECRET_PARAMETER.search(k) for k, _ in pairs):
        return url  # nothing secret: shown exactly as given
    query = urlencode([(k, "***" if _SECRET_PARAMETER.search(k) else v) for k, v in pairs], safe="*")
    return urlunsplit(parts._replace(netloc=netloc, query=query))


_UNKNOWN_PARAMETER = re.compile(r'invalid (?:URI )?(?:query parameter|connection option):? "([^"]*)"')


def libpq_problem(url: str) -> str | None:
    """Why libpq would refuse the URL's options (e.g. ``?bogus=1``), or None. Names only the option,
    never a value: a value may be a password."""
    from psycopg import ProgrammingError
    from psycopg.conninfo import conninfo_to_dict

    try:
        conninfo_to_dict(libpq_url(url))
    except ProgrammingError as error:
        unknown = _UNKNOWN_PARAMETER.search(str(error))
        if unknown:
            return (f"has the option {unknown.group(1)!r}, which PostgreSQL does not know "
                    "(e.g. sslmode, connect_timeout, application_name)")
        return "is not a connection URL PostgreSQL can read (check its ?options and %-escapes)"
    return None
