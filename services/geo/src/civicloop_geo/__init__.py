"""CivicLoop geo: places for requests — service areas, geocoding, duplicates and clusters in PostGIS."""
