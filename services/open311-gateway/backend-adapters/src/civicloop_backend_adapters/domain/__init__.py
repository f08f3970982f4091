"""Pure: the adapter port, its records and failures, and the rules that map a back-end's data to Open311."""
