"""Writing validated API data into the warehouse: upserts, SCD Type 2 merges and rejects."""
