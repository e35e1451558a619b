"""Database URLs as Precog shows them: never with a password (issue "Hardening", finding 7)."""

from __future__ import annotations

import pytest

from precog_pipelines.lib.warehouse.urls import redacted


@pytest.mark.parametrize(("url", "shown"), [
    ("postgresql://u:s3cret@h:5432/db", "postgresql://u:***@h:5432/db"),
    ("postgresql://u@h/db?password=s3cret", "postgresql://u@h/db?password=***"),
    ("postgresql+psycopg://u@h/db?sslpassword=s3cret&sslmode=require", "postgresql+psycopg://u@h/db?sslmode=require&sslpassword=***"),
    ("postgresql://u:s3cret@h/db?PASSWORD=s3cret&application_name=x", "postgresql://u:***@h/db?PASSWORD=***&application_name=x"),
    ("postgresql://u@h/db?sslmode=require", "postgresql://u@h/db?sslmode=require"),
    ("not a url s3cret", "<invalid database URL>"),
])
def test_a_database_url_is_shown_without_any_password(url, shown):
    """Finding 7: a password given as ``?password=`` was shown verbatim."""
    assert redacted(url) == shown
    assert "s3cret" not in redacted(url)
