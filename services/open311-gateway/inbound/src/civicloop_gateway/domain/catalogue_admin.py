"""What an administrator may put in a jurisdiction's catalogue: a service definition clients can actually use.

SD-08: every attribute has a positive `order` not used by another attribute of the service. SD-10: list datatypes
carry `values` (unique keys); other datatypes carry none. SD-04: codes are unique, and contain no brackets, so that
`attribute[CODE]` and `attribute[CODE][]` read back unambiguously (PR-04). SD-03: an informational attribute
(`variable=false`) cannot be required, since clients must not answer it.
"""

from __future__ import annotations

from civicloop_events import ServiceDefined
from civicloop_events.payloads import AttributeDatatype, AttributeValue, ServiceAttribute, ServiceType
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_LIST_TYPES = (AttributeDatatype.singlevaluelist, AttributeDatatype.multivaluelist)


class AttributeValueInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(min_length=1, max_length=120)
    name: str = Field(min_length=1, max_length=200)


class AttributeInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=64)
    variable: bool = True
    datatype: AttributeDatatype
    required: bool = False
    datatype_description: str | None = Field(default=None, max_length=500)
    order: int = Field(
        ge=1, description="SD-08: a positive integer not used by another attribute of the service"
    )
    description: str = Field(default="", max_length=2000)
    values: list[AttributeValueInput] = Field(default_factory=list)

    @field_validator("code")
    @classmethod
    def _readable_in_a_form(cls, v: str) -> str:
        if v != v.strip() or "[" in v or "]" in v:
            raise ValueError(
                "a code has no surrounding spaces and no brackets (it is sent as attribute[CODE])"
            )
        return v

    @model_validator(mode="after")
    def _values_fit_datatype(self) -> AttributeInput:
        if self.datatype in _LIST_TYPES:
            if not self.values:
                raise ValueError(f"attribute {self.code!r}: a {self.datatype.value} needs values (SD-10)")
            keys = [v.key for v in self.values]
            if len(set(keys)) != len(keys):
                raise ValueError(f"attribute {self.code!r}: value keys must be unique")
        elif self.values:
            raise ValueError(f"attribute {self.code!r}: only list datatypes have values (SD-10)")
        if self.required and not self.variable:
            raise ValueError(
                f"attribute {self.code!r}: an informational attribute (variable=false) cannot be required"
            )
        return self

    def to_event_model(self) -> ServiceAttribute:
        return ServiceAttribute(
            code=self.code,
            variable=self.variable,
            datatype=self.datatype,
            required=self.required,
            datatype_description=self.datatype_description,
            order=self.order,
            description=self.description,
            values=[AttributeValue(key=v.key, name=v.name) for v in self.values],
        )


class ServiceFields(BaseModel):
    """A service's definition without its code (the body of an update)."""

    model_config = ConfigDict(extra="forbid")

    service_name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)
    group: str = Field(default="", max_length=200)
    keywords: list[str] = Field(default_factory=list, max_length=50)
    type: ServiceType = ServiceType.realtime
    attributes: list[AttributeInput] = Field(default_factory=list, max_length=100)

    @field_validator("keywords")
    @classmethod
    def _clean_keywords(cls, v: list[str]) -> list[str]:
        cleaned = [k.strip() for k in v if k.strip()]
        if any("," in k for k in cleaned):
            raise ValueError("a keyword cannot contain a comma (SL-06 lists them comma-separated)")
        return cleaned

    @model_validator(mode="after")
    def _unique_codes_and_orders(self) -> ServiceFields:
        codes = [a.code for a in self.attributes]
        duplicates = sorted({c for c in codes if codes.count(c) > 1})
        if duplicates:
            raise ValueError(f"attribute codes must be unique; repeated: {', '.join(duplicates)} (SD-04)")
        orders = [a.order for a in self.attributes]
        repeated = sorted({o for o in orders if orders.count(o) > 1})
        if repeated:
            raise ValueError(
                f"attribute orders must be unique; repeated: {', '.join(map(str, repeated))} (SD-08)"
            )
        return self

    def definition(self, service_code: str, *, active: bool = True) -> ServiceDefined:
        return ServiceDefined(
            service_code=service_code,
            service_name=self.service_name,
            description=self.description,
            group=self.group,
            keywords=self.keywords,
            type=self.type,
            attributes=[a.to_event_model() for a in sorted(self.attributes, key=lambda a: a.order)],
            active=active,
        )


class ServiceInput(ServiceFields):
    """A new service of the catalogue."""

    service_code: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[\w\-.]+$",
        description="G-03: letters, digits, '_', '-' and '.'",
    )


def deactivated(definition: ServiceDefined) -> ServiceDefined:
    """The same definition, withdrawn: the latest definition wins, so the service disappears from GET services."""
    return definition.model_copy(update={"active": False})


def reactivated(definition: ServiceDefined) -> ServiceDefined:
    return definition.model_copy(update={"active": True})
