"""The PostgreSQL warehouse: connection URLs, the embedded server and migrations."""
