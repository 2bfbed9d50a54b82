"""Catalogue records: validation, keys, JSON round trip, health URLs."""

from __future__ import annotations

import pytest

from oxswarm.catalogue.records import Instance, health_url, instance_key, service_prefix
from oxswarm.errors import InvalidInput


def _instance(**kw: object) -> Instance:
    fields: dict[str, object] = {
        "service": "oxauth",
        "id": "abc123",
        "node": "manager",
        "address": "10.0.1.5",
        "port": 8080,
        "health_url": "http://10.0.1.5:8080/oxauth/health",
    }
    fields.update(kw)
    return Instance.model_validate(fields)


def test_json_round_trip_keeps_every_field() -> None:
    item = _instance(tags=("a", "b"), updated=12.5)
    back = Instance.from_json(item.to_json())
    assert back == item
    assert back.status == "passing"
    assert item.endpoint == "10.0.1.5:8080"


def test_same_as_ignores_the_time_stamp() -> None:
    assert _instance(updated=1.0).same_as(_instance(updated=2.0))
    assert not _instance().same_as(_instance(port=8081))


def test_keys_live_under_the_catalogue() -> None:
    assert instance_key("/oxswarm/c", "oxauth", "abc") == "/oxswarm/c/catalogue/oxauth/abc"
    assert service_prefix("/oxswarm/c/", "oxauth") == "/oxswarm/c/catalogue/oxauth/"


@pytest.mark.parametrize("bad", ["", "a/b", "../x", "a b"])
def test_a_name_with_a_slash_or_space_is_refused(bad: str) -> None:
    with pytest.raises(InvalidInput) as err:
        instance_key("/p", bad, "x")
    assert err.value.field == "service"


def test_malformed_json_names_the_field() -> None:
    with pytest.raises(InvalidInput) as err:
        Instance.from_json(_instance().to_json().replace(b"8080,", b"0,", 1), "k")
    assert err.value.field == "port"


def test_ipv6_endpoint_in_brackets() -> None:
    item = _instance(address="fd00::5", health_url="tcp://[fd00::5]:8080")
    assert item.endpoint == "[fd00::5]:8080"


@pytest.mark.parametrize(
    ("check", "url"),
    [
        ("/oxauth/health", "http://10.0.0.2:8080/oxauth/health"),
        ("tcp", "tcp://10.0.0.2:8080"),
        ("", "tcp://10.0.0.2:8080"),
        ("https://x:1/h", "https://x:1/h"),
    ],
)
def test_health_label_to_url(check: str, url: str) -> None:
    assert health_url("10.0.0.2", 8080, check) == url


def test_bad_health_label_is_refused() -> None:
    with pytest.raises(InvalidInput, match="health"):
        health_url("10.0.0.2", 8080, "ftp://x")
