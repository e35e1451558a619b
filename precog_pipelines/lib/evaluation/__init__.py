"""Does the model beat the market? Plain Python (no Dagster).

``market_model`` maps a closing point spread to a win probability (a versioned config),
``closing_lines`` stores the shipped lines against ``games``, ``forecasts`` reads the pre-game
probabilities of every source for the games with a line, ``scoring`` scores them (Brier, log
loss, accuracy, calibration), ``runs`` ties these together for a range of seasons, ``report``
draws the tables and charts the UI shows, ``elo_fit`` fits a new Elo version on past seasons.
"""
