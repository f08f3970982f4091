import re

import pytest
from civicloop_runtime.consumer_groups import consumer_group
from civicloop_runtime.settings import ServiceSettings


class Settings(ServiceSettings):
    group: str = consumer_group("svc.things.v3", description="consumer group on things")


def test_a_consumer_group_setting_defaults_to_its_versioned_name_and_the_environment_may_name_another(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Settings().group == "svc.things.v3"
    monkeypatch.setenv("CIVICLOOP_GROUP", "svc.things.canary")
    assert Settings().group == "svc.things.canary"


@pytest.mark.parametrize("name", ["svc.things", "things.v1", "Svc.things.v1", "svc.things.v1.extra"])
def test_a_default_group_not_named_service_purpose_version_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match=re.escape("<service>.<purpose>.v<N>")):
        consumer_group(name, description="x")
