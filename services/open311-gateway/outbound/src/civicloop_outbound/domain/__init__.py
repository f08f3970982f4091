"""Pure: routing rules, retry back-off, the sender port and its records, Open311 status and category mapping."""
