from intake_harness import intake, migrated_dsn, producer  # noqa: F401 - fixtures for this directory
