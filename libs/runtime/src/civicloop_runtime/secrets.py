"""Secret references: events, tables and configuration files name a secret (`api_key_ref`, `secret_ref`, a setting
ending in `_ref`) and never hold it; the process that needs it reads it from its own environment,
`CIVICLOOP_SECRET_<REF>`, the ref with every character that is not a letter or digit replaced by `_`, upper-cased
(ref `springfield.roads-webhook` -> `CIVICLOOP_SECRET_SPRINGFIELD_ROADS_WEBHOOK`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

SECRET_PREFIX = "CIVICLOOP_SECRET_"  # noqa: S105 - the prefix of environment names, not a secret


class SecretNotFound(LookupError):
    """A ref whose variable is not set in this process."""


def secret_env_name(ref: str) -> str:
    return SECRET_PREFIX + re.sub(r"[^A-Za-z0-9]", "_", ref).upper()


def resolve_secret(ref: str, environ: Mapping[str, str] | None = None) -> str:
    """The secret `ref` names, from `environ` (the process's environment unless given)."""
    env = os.environ if environ is None else environ
    name = secret_env_name(ref)
    value = env.get(name)
    if not value:
        raise SecretNotFound(f"secret {ref!r} is not set (environment variable {name})")
    return value
