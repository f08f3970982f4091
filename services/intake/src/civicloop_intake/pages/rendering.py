"""Pages rendered with Jinja2 (HTML escaped everywhere), and the headers every page carries."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from civicloop_intake.pages.texts import LANGUAGES, texts_for

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
STATIC_PATH = "/static/pages"
SERVICE_WORKER_PATH = "/pages-sw.js"  # at the root, so its scope covers /report

# Nothing from elsewhere, no inline script or style: the pages work on a network without internet, and an injected
# string could not run even if escaping failed.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; script-src 'self'; "
    "style-src 'self'; connect-src 'self'; worker-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'",
    "Referrer-Policy": "no-referrer",  # a track page's URL holds a request number
    "X-Content-Type-Options": "nosniff",
}


def templates(*directories: Path) -> Environment:
    """Templates from `directories` first, then the pages' own (their layout): one setup for every page."""
    env = Environment(
        loader=FileSystemLoader([*directories, HERE / "templates"]),
        autoescape=select_autoescape(("html",)),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = _when
    return env


def _when(at: datetime | None, language: str) -> str:
    if at is None:
        return ""
    local = at.astimezone()
    return local.strftime("%d/%m/%Y %H:%M %Z" if language == "es" else "%b %d, %Y %I:%M %p %Z")


def _with_language(path: str, language: str, **query: str) -> str:
    return f"{path}?{urlencode({**query, 'lang': language})}"


_env = templates()


def page(
    template: str,
    *,
    language: str,
    status_code: int = 200,
    no_store: bool = False,
    here: str,
    keep: Mapping[str, str] | None = None,
    environment: Environment | None = None,
    **context: Any,
) -> HTMLResponse:
    """`template` in `language`; `here` and `keep` make the links to the same page in the other languages;
    `environment`: another set of templates (`templates(...)`), the pages' own by default."""
    t = texts_for(language)
    kept = {k: v for k, v in (keep or {}).items() if v}
    env = environment or _env
    html = env.get_template(template).render(
        t=t,
        lang=language,
        languages=LANGUAGES,
        static=STATIC_PATH,
        service_worker=SERVICE_WORKER_PATH,
        link=lambda path, **q: _with_language(path, language, **q),
        language_links={code: _with_language(here, code, **kept) for code in LANGUAGES},
        say=lambda key, **values: t[key].format(**values),
        **context,
    )
    headers = dict(PAGE_HEADERS)
    headers["Cache-Control"] = "no-store" if no_store else "no-cache"
    return HTMLResponse(html, status_code=status_code, headers=headers)


def error_texts(problems: Mapping[str, str], language: str) -> dict[str, str]:
    """Each marked field's message, in the page's language (`problems`: field -> text key)."""
    t = texts_for(language)
    return {field: t[key] for field, key in problems.items()}
