"""The exchange's view of the account (Kalshi's portfolio endpoints) in the warehouse, and its
reconciliation with the ledger (issue 13, items 1 and 2)."""
