-- Games, their live states from ESPN (SCD Type 2), and the Elo rating history.

-- One row per game, whatever told us about it: ESPN for current seasons, the
-- FiveThirtyEight files for history. (date, home, away) identifies a game in both.
CREATE TABLE games (
    id                bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    league            text        NOT NULL CHECK (league IN ('nfl', 'nba', 'mlb', 'nhl')),
    external_game_id  text        UNIQUE CHECK (external_game_id ~ '^[0-9]+$'),
    source            text        NOT NULL REFERENCES platforms (platform_id),
    season            integer     NOT NULL CHECK (season BETWEEN 1869 AND 2200),
    season_type       smallint    CHECK (season_type IN (1, 2, 3, 4)),
    week              smallint    CHECK (week BETWEEN 0 AND 30),
    game_date         date        NOT NULL,
    kickoff_ts        timestamptz,
    home_team_id      integer     NOT NULL REFERENCES teams (id),
    away_team_id      integer     NOT NULL REFERENCES teams (id),
    neutral_site      boolean     NOT NULL DEFAULT false,
    playoff           boolean     NOT NULL DEFAULT false,
    home_score        integer     CHECK (home_score >= 0),
    away_score        integer     CHECK (away_score >= 0),
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CHECK (home_team_id <> away_team_id),
    CHECK ((home_score IS NULL) = (away_score IS NULL)),
    UNIQUE (league, game_date, home_team_id, away_team_id)
);
COMMENT ON COLUMN games.game_date IS 'US-Eastern calendar date of kickoff (the date ESPN and Kalshi tickers use).';
COMMENT ON COLUMN games.season IS 'Year the season started; January and February playoff games belong to the previous year.';
CREATE INDEX games_season_ix ON games (league, season, game_date);

CREATE TABLE game_states (
    id                bigint       GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    external_game_id  text         NOT NULL REFERENCES games (external_game_id),
    state             text         NOT NULL CHECK (state IN ('pre', 'in', 'post')),
    status_name       text         NOT NULL CHECK (status_name ~ '^STATUS_[A-Z0-9_]+$'),
    completed         boolean      NOT NULL,
    home_score        integer      NOT NULL CHECK (home_score >= 0),
    away_score        integer      NOT NULL CHECK (away_score >= 0),
    period            smallint     NOT NULL CHECK (period >= 0),
    clock_seconds     numeric(7,2) NOT NULL CHECK (clock_seconds >= 0),
    display_clock     text,
    situation         jsonb        CHECK (situation IS NULL OR jsonb_typeof(situation) = 'object'),
    row_current_ind   boolean      NOT NULL DEFAULT true,
    row_start_ts      timestamptz  NOT NULL DEFAULT now(),
    row_end_ts        timestamptz,
    CONSTRAINT game_states_validity_ck CHECK (
        (row_current_ind AND row_end_ts IS NULL)
        OR (NOT row_current_ind AND row_end_ts IS NOT NULL AND row_end_ts > row_start_ts)
    ),
    -- ESPN marks only games played to a result as completed; postponed ones are post/false.
    CONSTRAINT game_states_completed_is_post_ck CHECK (NOT completed OR state = 'post')
);
COMMENT ON TABLE game_states IS 'SCD Type 2 history of ESPN game status: a new version when score, period, clock or status changed.';
CREATE UNIQUE INDEX game_states_one_current_uq ON game_states (external_game_id) WHERE row_current_ind;
CREATE INDEX game_states_history_ix ON game_states (external_game_id, row_start_ts);
CREATE TRIGGER game_states_scd2_guard BEFORE UPDATE ON game_states
    FOR EACH ROW EXECUTE FUNCTION scd2_only_close_current();

CREATE TABLE elo_rating_history (
    id                bigint           GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    model_id          integer          NOT NULL REFERENCES probability_models (id),
    game_id           bigint           NOT NULL REFERENCES games (id),
    team_id           integer          NOT NULL REFERENCES teams (id),
    opponent_team_id  integer          NOT NULL REFERENCES teams (id),
    season            integer          NOT NULL,
    game_date         date             NOT NULL,
    is_home           boolean          NOT NULL,
    points_for        integer          NOT NULL CHECK (points_for >= 0),
    points_against    integer          NOT NULL CHECK (points_against >= 0),
    rating_before     double precision NOT NULL,
    rating_after      double precision NOT NULL,
    win_probability   double precision NOT NULL CHECK (win_probability > 0 AND win_probability < 1),
    computed_at       timestamptz      NOT NULL DEFAULT now(),
    UNIQUE (model_id, game_id, team_id),
    CHECK (team_id <> opponent_team_id)
);
COMMENT ON TABLE elo_rating_history IS 'One row per team per game: the rating before and after the game under one model version.';
COMMENT ON COLUMN elo_rating_history.rating_before IS 'Pre-game rating after any season-start reversion; double precision because the model keeps full float precision between games.';
CREATE INDEX elo_rating_history_season_ix ON elo_rating_history (model_id, season);
CREATE INDEX elo_rating_history_team_ix ON elo_rating_history (model_id, team_id, game_date);
