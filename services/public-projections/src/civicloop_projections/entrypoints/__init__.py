"""How the outside reaches the projections: HTTP, the consumer processes, the CLI."""
