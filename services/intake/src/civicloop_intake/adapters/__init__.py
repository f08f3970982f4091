"""Intake's adapters: PostgreSQL repositories and views, the Kafka event log, the vault."""
