"""Secret references: events and tables name a secret (`api_key_ref`, `secret_ref`); the process that needs it
reads it from its own environment, `CIVICLOOP_SECRET_<REF>` with the ref upper-cased and every character that is
not a letter or digit replaced by `_` (ref `springfield.roads-webhook` -> `CIVICLOOP_SECRET_SPRINGFIELD_ROADS_WEBHOOK`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping


class SecretNotFound(LookupError):
    """A ref whose variable is not set in this process."""


def secret_env_name(ref: str) -> str:
    return "CIVICLOOP_SECRET_" + re.sub(r"[^A-Z0-9]", "_", ref.upper())


def resolve_secret(ref: str, environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    name = secret_env_name(ref)
    value = env.get(name)
    if not value:
        raise SecretNotFound(f"secret {ref!r} is not configured (set {name})")
    return value
