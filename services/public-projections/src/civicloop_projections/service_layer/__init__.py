"""What reacts to what: the consumer handlers, and the rebuild of every projection from the log."""
