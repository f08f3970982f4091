"""`civicloop-staff new-token-key`: a key pair as environment lines that the secrets mechanism reads."""

import shlex
import uuid

from civicloop_staff.cli import app
from civicloop_staff.tokens import StaffTokenIssuer, StaffTokenVerifier
from typer.testing import CliRunner


def test_new_token_key_prints_a_working_pair_as_environment_lines():
    result = CliRunner().invoke(app, ["new-token-key", "--kid", "2026-12"])
    assert result.exit_code == 0, result.output
    environ = dict(shlex.split(line)[0].split("=", 1) for line in result.output.strip().splitlines())
    assert set(environ) == {
        "CIVICLOOP_SECRET_STAFF_TOKEN_SIGNING_KEY",
        "CIVICLOOP_SECRET_STAFF_TOKEN_VERIFY_KEYS",
    }
    staff = uuid.uuid4()
    token = StaffTokenIssuer.from_secret(environ=environ).issue(
        staff_id=staff, jurisdiction_id="demo", roles=["agent"]
    )
    assert StaffTokenVerifier.from_secret(environ=environ).verify(token).staff_id == staff
    assert '"d"' not in environ["CIVICLOOP_SECRET_STAFF_TOKEN_VERIFY_KEYS"]
