"""PostgreSQL/PostGIS reads and writes of the projection tables (psycopg 3, SQL in the open)."""
