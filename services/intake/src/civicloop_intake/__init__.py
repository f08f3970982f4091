"""CivicLoop intake: residents submit service requests and track them by number and phone."""
