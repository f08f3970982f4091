"""HTTP (the Open311 endpoints and ops endpoints) and the command line."""
