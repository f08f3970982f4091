"""Intake's rules, free of IO: request numbers, validation of a submission, the catalogue and tracking folds."""
