"""Open311 GeoReport v2 on the wire: formats, the document model rendered as XML and JSON, dates, errors."""
