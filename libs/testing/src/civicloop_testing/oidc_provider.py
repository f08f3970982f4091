"""A real OpenID Connect provider process for tests: `oidc-provider-mock` on 127.0.0.1, on a free port.

One helper for every test that signs staff in through a provider (the staff library's client, intake's routes):
the process is started, waited for until its discovery document answers, and stopped after.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

import httpx

from civicloop_testing.processes import ROOT, free_port, script

START_TIMEOUT_S = 30.0


@contextmanager
def oidc_provider(*, require_nonce: bool = True) -> Iterator[str]:
    """The provider's issuer URL (`http://127.0.0.1:<port>`) once it serves; its log under `.run/logs/`."""
    port = free_port()
    log = ROOT / ".run" / "logs" / f"oidc-provider-{port}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    args = [script("oidc-provider-mock"), "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(
        [*args, "--require-nonce"] if require_nonce else args, stdout=log.open("w"), stderr=subprocess.STDOUT
    )
    issuer = f"http://127.0.0.1:{port}"
    try:
        _wait_until_serving(issuer, proc, log_name=str(log))
        yield issuer
    finally:
        proc.terminate()
        proc.wait(10)


def _wait_until_serving(issuer: str, proc: subprocess.Popen[bytes], *, log_name: str) -> None:
    """Polls the process's own readiness (its discovery document answers), bounded by START_TIMEOUT_S."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        try:
            if httpx.get(f"{issuer}/.well-known/openid-configuration").status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            raise RuntimeError(f"the OIDC provider did not start; see {log_name}")
        time.sleep(0.1)


async def put_person(http: httpx.AsyncClient, issuer: str, sub: str, claims: dict[str, object]) -> None:
    """The provider's record of someone (its test API): who logs in as `sub` gets these claims."""
    answer = await http.put(f"{issuer}/users/{quote(sub, safe='')}", json=claims)
    assert answer.status_code == 204, answer.text
