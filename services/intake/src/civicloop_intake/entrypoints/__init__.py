"""Ways into intake: the HTTP API and the command line."""
