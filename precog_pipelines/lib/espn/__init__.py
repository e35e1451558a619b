"""ESPN NFL scoreboard client and parser (plain library code, no Dagster)."""

from precog_pipelines.lib.espn.client import (
    DEFAULT_BASE_URL,
    EspnClient,
    EspnHTTPError,
    EspnRetryError,
    espn_base_url,
)
from precog_pipelines.lib.espn.parse import (
    US_EASTERN,
    EspnError,
    EspnParseError,
    GameState,
    iter_event_payloads,
    parse_game_state,
    season_context,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "espn_base_url",
    "EspnClient",
    "EspnError",
    "EspnHTTPError",
    "EspnParseError",
    "EspnRetryError",
    "GameState",
    "iter_event_payloads",
    "parse_game_state",
    "season_context",
    "US_EASTERN",
]
