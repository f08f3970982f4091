"""selfheal's integration tests run against the real broker and a PostgreSQL database of each test's own."""
