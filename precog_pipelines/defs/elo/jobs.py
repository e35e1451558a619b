"""Jobs that materialize the Elo rating history."""

import dagster as dg

# The asset with its checks, for the schedule and manual launches.
elo_ratings_job = dg.define_asset_job("elo_ratings_job", selection=dg.AssetSelection.assets("elo_ratings"))
