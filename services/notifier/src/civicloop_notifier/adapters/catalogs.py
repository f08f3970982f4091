"""The gettext catalogs of resident-facing texts, read from the `.po` files shipped with the service (and, for a
deployment's own wording, from a folder of the same layout: `<folder>/<lang>/LC_MESSAGES/notifier.po`, whose
entries win)."""

from __future__ import annotations

import io
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "notifier"


def _translations(po_file: Path) -> Translations:
    with po_file.open("rb") as f:
        catalog = read_po(f, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def load_catalogs(*folders: Path) -> dict[str, Translations]:
    """language -> catalog, from the shipped texts and then each folder given (a later entry overrides)."""
    found: dict[str, Translations] = {}
    for folder in (LOCALE_DIR, *folders):
        for po_file in sorted(folder.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
            language = po_file.parent.parent.name
            own = _translations(po_file)
            if language in found:
                own.add_fallback(found[language])
            found[language] = own
    return found
