"""The command line and the worker's HTTP app (ops endpoints, admin outbound API)."""
