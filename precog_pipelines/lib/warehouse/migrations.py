"""Numbered raw-SQL migrations with a checksummed ledger.

Each ``sql/NNNN_name.sql`` file runs once, in version order, in its own transaction,
together with its ledger row, so a failed file leaves neither schema nor ledger changed.
That holds only if the file leaves the transaction to the runner: every pending file is read
as UTF-8 and parsed with PostgreSQL's own parser (pglast) before anything runs, and a file
holding a transaction statement (BEGIN, COMMIT, ROLLBACK, SAVEPOINT...) is refused, naming it.
A session-level advisory lock serialises concurrent upgraders, and a file whose content
no longer matches the checksum recorded when it was applied stops everything: the fix is
a new migration, never an edited one.

We evaluated yoyo-migrations and pyway first. yoyo hashes a migration's *id*, not its
content, so an edited file goes unnoticed, and its lock is a table row that a killed
process leaves behind; pyway builds its ledger SQL by string formatting and commits the
ledger apart from the migration. The rules above are short enough to own.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psycopg
from pglast import ast, parse_sql
from pglast.parser import ParseError

from precog_pipelines.lib.settings import repository_root
from precog_pipelines.lib.warehouse.server import connect

LEDGER_TABLE = "schema_migrations"
# pg_advisory_lock key: the first 8 bytes of sha256("precog.schema_migrations"), signed.
ADVISORY_LOCK_KEY = int.from_bytes(hashlib.sha256(b"precog.schema_migrations").digest()[:8], "big", signed=True)
_FILENAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class MigrationError(RuntimeError):
    """The migration set or the ledger is inconsistent; nothing was applied."""


@dataclass(frozen=True)
class MigrationFile:
    version: int
    filename: str
    path: Path

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class AppliedMigration:
    version: int
    filename: str
    checksum: str
    applied_at: datetime


@dataclass(frozen=True)
class MigrationStatus:
    applied: list[AppliedMigration]
    pending: list[MigrationFile]


def default_sql_dir() -> Path:
    """``PRECOG_SQL_DIR``, else the checkout's ``sql/`` (editable installs), else the copy a
    wheel or non-editable install ships inside the package."""
    if os.environ.get("PRECOG_SQL_DIR"):
        return Path(os.environ["PRECOG_SQL_DIR"])
    checkout = repository_root()
    if (checkout / "setup.py").is_file() and (checkout / "sql").is_dir():
        return checkout / "sql"
    return Path(__file__).resolve().parents[2] / "sql"


def discover(sql_dir: Path) -> list[MigrationFile]:
    """The migration files in version order; rejects stray names and duplicate versions."""
    if not sql_dir.is_dir():
        raise MigrationError(f"migration folder {sql_dir} does not exist")
    files: dict[int, MigrationFile] = {}
    for path in sorted(sql_dir.glob("*.sql")):
        match = _FILENAME.match(path.name)
        if not match:
            raise MigrationError(
                f"migration file {path.name} is not named NNNN_lowercase_words.sql"
            )
        version = int(match.group(1))
        if version in files:
            raise MigrationError(
                f"migration files {files[version].filename} and {path.name} share version {version}"
            )
        files[version] = MigrationFile(version, path.name, path)
    return [files[v] for v in sorted(files)]


_CREATE_LEDGER = f"""
CREATE TABLE IF NOT EXISTS {LEDGER_TABLE} (
    version       integer     PRIMARY KEY,
    filename      text        NOT NULL UNIQUE,
    checksum      text        NOT NULL CHECK (checksum ~ '^[0-9a-f]{{64}}$'),
    applied_at    timestamptz NOT NULL DEFAULT now(),
    execution_ms  integer     NOT NULL CHECK (execution_ms >= 0)
)
"""


def _read_ledger(conn: psycopg.Connection) -> list[AppliedMigration]:
    exists = conn.execute("SELECT to_regclass(%s)", (LEDGER_TABLE,)).fetchone()[0]
    if exists is None:
        return []
    rows = conn.execute(
        f"SELECT version, filename, checksum, applied_at FROM {LEDGER_TABLE} ORDER BY version"
    ).fetchall()
    return [AppliedMigration(*row) for row in rows]


def _plan(files: list[MigrationFile], applied: list[AppliedMigration]) -> list[MigrationFile]:
    """Verify the applied files against the ledger and return the pending ones."""
    by_version = {f.version: f for f in files}
    for row in applied:
        current = by_version.get(row.version)
        if current is None:
            raise MigrationError(
                f"migration {row.filename} is recorded as applied but is missing from the migration folder"
            )
        if current.filename != row.filename:
            raise MigrationError(
                f"migration {row.version} was applied as {row.filename} but the folder now holds {current.filename}"
            )
        if current.checksum != row.checksum:
            raise MigrationError(
                f"migration {row.filename} was edited after it was applied "
                f"(checksum {row.checksum[:12]} recorded, {current.checksum[:12]} on disk); "
                "restore the file and put the change in a new migration"
            )
    newest_applied = max((row.version for row in applied), default=0)
    pending = [f for f in files if f.version not in {row.version for row in applied}]
    late = [f.filename for f in pending if f.version < newest_applied]
    if late:
        raise MigrationError(
            f"migration {late[0]} is older than the newest applied migration; renumber it after "
            f"{max(applied, key=lambda r: r.version).filename}"
        )
    return pending


def status(database_url: str, sql_dir: Path | None = None) -> MigrationStatus:
    """What is applied and what is pending, verifying checksums along the way."""
    files = discover(sql_dir or default_sql_dir())
    with connect(database_url) as conn:
        applied = _read_ledger(conn)
    return MigrationStatus(applied=applied, pending=_plan(files, applied))


def upgrade(database_url: str, sql_dir: Path | None = None) -> list[MigrationFile]:
    """Apply every pending migration; return the ones applied (empty when up to date)."""
    files = discover(sql_dir or default_sql_dir())
    with connect(database_url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (ADVISORY_LOCK_KEY,))
        try:
            conn.execute(_CREATE_LEDGER)
            pending = _plan(files, _read_ledger(conn))
            # Every pending file is checked before the first one runs: a bad file applies nothing.
            bodies = [(migration, checked_sql(migration)) for migration in pending]
            for migration, body in bodies:
                _apply(conn, migration, body)
            return pending
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (ADVISORY_LOCK_KEY,))


def checked_sql(migration: MigrationFile) -> str:
    """The file's SQL, once it is known to be UTF-8, to parse, and to leave its transaction alone.

    A file that ran ``COMMIT`` half-way would keep what came before it even when a later
    statement failed, and one ending in ``ROLLBACK`` would be recorded as applied though
    nothing was: the runner owns the transaction, so such a file is refused before it runs.
    """
    raw = migration.path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[:error.start].count(b"\n") + 1
        raise MigrationError(
            f"migration {migration.filename} is not UTF-8 (byte 0x{raw[error.start]:02x} at offset {error.start}, "
            f"line {line}); save it as UTF-8") from None
    try:
        statements = parse_sql(text)
    except ParseError as error:
        message, location = (error.args + (0,))[:2]
        line = text[:location].count("\n") + 1
        raise MigrationError(f"migration {migration.filename} is not valid SQL ({message}, line {line})") from None
    for statement in statements:
        if isinstance(statement.stmt, ast.TransactionStmt):
            start = statement.stmt_location
            shown = text[start:start + statement.stmt_len if statement.stmt_len else None].strip()
            line = text[:start + len(text[start:]) - len(text[start:].lstrip())].count("\n") + 1
            raise MigrationError(
                f"migration {migration.filename} manages its own transaction ({shown[:80]!r} on line {line}); "
                "remove it: every migration runs in one transaction of its own")
    return text


def _apply(conn: psycopg.Connection, migration: MigrationFile, text: str) -> None:
    body = text.encode("utf-8")
    started = time.monotonic()
    try:
        with conn.transaction():
            # No parameters: psycopg sends the file as one simple query, so a file may
            # hold many statements and dollar-quoted function bodies.
            conn.execute(text)
            conn.execute(
                f"INSERT INTO {LEDGER_TABLE} (version, filename, checksum, execution_ms) "
                "VALUES (%s, %s, %s, %s)",
                (
                    migration.version,
                    migration.filename,
                    hashlib.sha256(body).hexdigest(),
                    int((time.monotonic() - started) * 1000),
                ),
            )
    except psycopg.Error as exc:
        raise MigrationError(f"migration {migration.filename} failed and was rolled back: {exc}") from exc
