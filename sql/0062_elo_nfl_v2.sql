-- elo_nfl v2.0: FiveThirtyEight's engine with K, home-field advantage, off-season reversion and
-- the margin multiplier's rating-difference coefficient fitted on seasons up to 2014 only
-- (log loss of 1979-2014, every game from 1920 replayed), by `precog model fit-elo`
-- (lib/evaluation/elo_fit.py), which prints this config again. Inactive: v1.0 stays the version
-- edges and positions use; see docs/notes/issue-15.md for its out-of-sample evaluation.
INSERT INTO probability_models (model_name, model_version, model_type, league, config, description, is_active)
VALUES ('elo_nfl', '2.0', 'elo', 'nfl', '{
    "k_factor": 18.76,
    "home_field_advantage": 62.98,
    "rating_scale": 400,
    "reversion_mean": 1505,
    "reversion_keep_fraction": 0.5525,
    "new_team_rating": 1300,
    "margin_multiplier": {
        "scale": 2.2,
        "rating_diff_coefficient": 0.000315,
        "offset": 2.2,
        "tie_divisor": 1.0
    },
    "fitted_seasons": [1979, 2014],
    "fitted_parameters": ["k_factor", "home_field_advantage", "reversion_keep_fraction",
                          "margin_multiplier.rating_diff_coefficient"]
}', 'FiveThirtyEight''s classic NFL Elo refitted on seasons up to 2014 (precog model fit-elo)', false);
