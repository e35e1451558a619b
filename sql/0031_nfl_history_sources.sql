-- NFL history to the present: a second history file (2021 to 2025-09-29, compiled from
-- spreadspoke_scores) beside FiveThirtyEight's, and one games row per real game whichever
-- source tells us about it.

INSERT INTO platforms (platform_id, display_name, platform_type, base_url) VALUES
    ('spreadspoke', 'spreadspoke_scores NFL results and lines', 'data_provider', NULL);

-- A game is the same game whichever team a source calls home: the files and ESPN may
-- designate a different home team at a neutral site. One row per league, day and pair of
-- teams, in either order.
ALTER TABLE games DROP CONSTRAINT games_league_game_date_home_team_id_away_team_id_key;
CREATE UNIQUE INDEX games_one_per_day_and_pair_uq
    ON games (league, game_date, least(home_team_id, away_team_id), greatest(home_team_id, away_team_id));

COMMENT ON COLUMN games.source IS
    'Who the row''s teams, side and result come from. History files (fivethirtyeight, spreadspoke) take '
    'precedence over ESPN for the games they hold: ESPN then only links its external_game_id, week and kickoff.';
