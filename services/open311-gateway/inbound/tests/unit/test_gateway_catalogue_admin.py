"""Admin catalogue definitions (SD-04, SD-08, SD-10, SD-03): only definitions clients can use are published."""

from __future__ import annotations

from typing import Any

import pytest
from civicloop_events.payloads import AttributeDatatype
from civicloop_gateway.domain.catalogue_admin import ServiceInput, deactivated
from pydantic import ValidationError


def service(*attributes: dict[str, Any]) -> dict[str, Any]:
    return {"service_code": "STREETLIGHT", "service_name": "Streetlight out", "attributes": list(attributes)}


def attribute(code: str, order: int, datatype: str = "string", **extra: Any) -> dict[str, Any]:
    return {"code": code, "order": order, "datatype": datatype, **extra}


LAMP = attribute("LAMP", 2, "singlevaluelist", values=[{"key": "out", "name": "Out"}])


def test_valid_definition_becomes_a_service_defined_in_order() -> None:
    definition = ServiceInput.model_validate(service(LAMP, attribute("POLE", 1))).definition("STREETLIGHT")
    assert [a.code for a in definition.attributes] == ["POLE", "LAMP"]
    assert definition.attributes[1].datatype is AttributeDatatype.singlevaluelist
    assert definition.active and not deactivated(definition).active


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        ([attribute("A", 1), attribute("A", 2)], "codes must be unique"),  # SD-04
        ([attribute("A", 1), attribute("B", 1)], "orders must be unique"),  # SD-08
        ([attribute("A", 0)], "greater than or equal to 1"),  # SD-08: positive
        ([attribute("A", 1, "multivaluelist")], "needs values"),  # SD-10
        ([attribute("A", 1, "number", values=[{"key": "k", "name": "n"}])], "only list datatypes"),  # SD-10
        (
            [
                attribute(
                    "A", 1, "singlevaluelist", values=[{"key": "k", "name": "n"}, {"key": "k", "name": "m"}]
                )
            ],
            "keys must be unique",
        ),
        ([attribute("A[1]", 1)], "no brackets"),  # PR-04
        ([attribute("A", 1, variable=False, required=True)], "cannot be required"),  # SD-03
    ],
)
def test_invalid_definitions_are_refused(attributes: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(ValidationError) as info:
        ServiceInput.model_validate(service(*attributes))
    assert message in str(info.value)


def test_service_code_is_a_path_safe_identifier() -> None:
    """G-03: codes are path segments: letters, digits, '_', '-', '.'."""
    ServiceInput.model_validate({**service(), "service_code": "parks.tree-01"})
    with pytest.raises(ValidationError):
        ServiceInput.model_validate({**service(), "service_code": "a/b"})
