"""`civicloop-gateway partners ...`: create, list and revoke partner clients and their API keys."""

import typer

app = typer.Typer(help="Partner clients and their API keys.", no_args_is_help=True, add_completion=False)
