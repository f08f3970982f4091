"""What the outbound service does in its database: the config fold, dispatching to the queue, the sender loop,
the per-body status."""
