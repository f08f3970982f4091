"""`civicloop-staff`: the operator's commands for staff identity (accounts come with the staff store)."""

from __future__ import annotations

import shlex

import typer
from civicloop_runtime.secrets import secret_env_name

from civicloop_staff.tokens import SIGNING_KEY_REF, VERIFY_KEYS_REF, new_signing_key

app = typer.Typer(no_args_is_help=True, help=__doc__)


@app.callback()
def main() -> None:
    """Staff identity."""


@app.command("new-token-key")
def new_token_key(kid: str = typer.Option("", help="the key's id (default: a random one)")) -> None:
    """Print a new Ed25519 key pair for staff access tokens, as environment lines: the signing key for the
    sign-in service alone, the public key set for every service. To rotate, add the new public key to the set
    everywhere first, then give the signer the new private key."""
    private, public = new_signing_key(kid or None)
    typer.echo(f"{secret_env_name(SIGNING_KEY_REF)}={shlex.quote(private)}")
    typer.echo(f"{secret_env_name(VERIFY_KEYS_REF)}={shlex.quote(public)}")
