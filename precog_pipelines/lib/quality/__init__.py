"""Data-quality rules as plain functions returning what violates them."""
