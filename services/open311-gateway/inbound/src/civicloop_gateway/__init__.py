"""CivicLoop Open311 GeoReport v2 gateway: the standard endpoint partners submit to and query."""
