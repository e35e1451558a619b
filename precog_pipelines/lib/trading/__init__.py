"""Trading logic as plain functions: fees, edges, sizing, exit rules, execution and P&L."""
