"""Every service's /docs in a real browser (Debian's chromium) cut off from everything but this machine.

The apps are built by their real factories (`tests/contract/service_apps.py`) and served without their lifespan:
the documentation needs neither database nor broker. Swagger UI must list every operation of the OpenAPI document
with nothing asked of the internet; axe-core then checks the page.
"""

from __future__ import annotations

import pytest
from civicloop_testing.browser import OpenPage, axe_violations, describe_violations, loopback_only
from civicloop_testing.threaded_server import serve_in_thread

from tests.contract.service_apps import SERVICES, Service

# axe's serious findings inside Swagger UI's own markup, which its bundle renders and we do not write: each
# operation's summary is a button holding the copy-path and lock buttons. It is printed by the test; any other
# serious or critical rule failing fails the test (contrast, language and landmarks are fixed in our page shell).
SWAGGER_UI_OWN = frozenset({"nested-interactive"})


REDOC_OWN_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


def _operations(app_openapi: dict) -> int:
    methods = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
    return sum(1 for ops in app_openapi["paths"].values() for m in ops if m in methods)


@pytest.mark.parametrize("service", SERVICES, ids=[s.name for s in SERVICES])
async def test_docs_list_every_operation_without_the_internet(
    service: Service, open_page: OpenPage, screenshots, capsys
) -> None:
    app = service.build()
    expected = _operations(app.openapi())
    page = await open_page(javascript=True)
    blocked = await loopback_only(page.context)
    with serve_in_thread(app) as base:
        await page.goto(f"{base}/docs", wait_until="load")
        operations = page.locator(".opblock-summary")
        await operations.first.wait_for(state="visible", timeout=15_000)
        shown = await operations.count()
        assert shown == expected, (
            f"{service.name}: Swagger UI lists {shown} operations, the document {expected}"
        )
        assert await page.locator(".swagger-ui .info .title").inner_text() != ""
        assert blocked.urls == [], f"{service.name}: /docs asked the internet for {blocked.urls}"
        await screenshots(page, f"docs-{service.name}")
        serious = await axe_violations(page)
    ours = [v for v in serious if v["id"] not in SWAGGER_UI_OWN]
    with capsys.disabled():
        if serious:
            print(f"\naxe on {service.name} /docs (serious or critical):\n{describe_violations(serious)}")
    assert ours == [], describe_violations(ours)


async def test_redoc_shows_the_operations_without_the_internet(open_page: OpenPage) -> None:
    service = SERVICES[0]
    app = service.build()
    page = await open_page(javascript=True)
    blocked = await loopback_only(page.context)
    with serve_in_thread(app) as base:
        await page.goto(f"{base}/redoc", wait_until="load")
        operations = page.locator('[data-section-id^="operation/"]')
        await operations.first.wait_for(state="attached", timeout=15_000)
        assert await operations.count() == _operations(app.openapi())
        # ReDoc's bundle shows its maker's logo in the side menu's footer from its own CDN: an image only, blocked
        # here, and the page works without it. Anything else asked of the internet fails.
        assert [url for url in blocked.urls if url != REDOC_OWN_LOGO] == [], blocked.urls
