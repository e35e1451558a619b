-- Dagster's own storage lives in a database apart from the warehouse (`precog`, POSTGRES_DB), so
-- that their load and retention stay independent. Runs once, when the data volume is empty.
CREATE DATABASE precog_dagster;
