"""Pure folds and value parsing: no IO, unit tested in milliseconds."""
