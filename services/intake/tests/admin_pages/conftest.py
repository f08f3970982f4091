import sys
from pathlib import Path

# The integration harness (an intake per test on the real broker and database) and the console's world (its
# sign-in, public-projections' agent view) live beside these tests.
sys.path.insert(0, str(Path(__file__).parent.parent / "integration"))
sys.path.insert(0, str(Path(__file__).parent.parent / "console"))

from intake_harness import intake, migrated_dsn, producer  # noqa: F401 - fixtures for this directory
