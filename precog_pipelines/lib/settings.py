"""Where Precog keeps its local state, read from the environment."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_HOME = ".precog"


def precog_home() -> Path:
    """The folder holding the embedded database, Dagster's instance home and logs.

    ``PRECOG_HOME`` when set, else ``.precog/`` under the current directory, so that a
    clone of the repository keeps its state beside it.
    """
    return Path(os.environ.get("PRECOG_HOME") or DEFAULT_HOME).expanduser().resolve()


def repository_root() -> Path:
    """The checkout this package was installed from (editable installs)."""
    return Path(__file__).resolve().parents[2]
