"""Where the Elo replay reads final games, as a Dagster resource."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from pydantic import Field

from precog_pipelines.lib.elo.sources import GameSource


class EloGameSourceResource(dg.ConfigurableResource):
    """The NFL history files shipped in the package through their last day (2025-09-29);
    completed ESPN games from the warehouse (``games`` + ``game_states_current``) after it."""

    history_dir: str | None = Field(
        default=None,
        description="Folder with games_1920_2020.csv, games_2021_2025.csv, initial_elos.csv, "
        "season_overrides.csv and closing_lines_1979_2025.csv (empty or unset: the files shipped in the package).",
    )

    def source(self) -> GameSource:
        """A game source for one run (it reads the files once, on first use)."""
        return GameSource(Path(self.history_dir) if self.history_dir else None)
