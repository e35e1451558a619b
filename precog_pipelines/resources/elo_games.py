"""Where the Elo replay reads final games, as a Dagster resource."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from pydantic import Field

from precog_pipelines.lib.elo.sources import GameSource, default_history_dir


class EloGameSourceResource(dg.ConfigurableResource):
    """FiveThirtyEight's NFL files for the seasons they cover; completed ESPN games from the
    warehouse (``games`` + ``game_states_current``) for every later season."""

    history_dir: str | None = Field(
        default=None,
        description="Folder with games_1920_2020.csv, initial_elos.csv and season_overrides.csv "
        "(empty or unset: <PRECOG_SHARED_DIR>/data/nfl).",
    )
    history_last_season: int | None = Field(
        default=None,
        description="Last season read from the files; later seasons come from the warehouse "
        "(default: the last season in the games file).",
    )

    def source(self) -> GameSource:
        """A game source for one run (it reads the files once, on first use)."""
        directory = Path(self.history_dir) if self.history_dir else default_history_dir()
        return GameSource(directory, self.history_last_season)
