"""Unit tests of the audit log's pure parts: redaction and the entry mapping."""

from __future__ import annotations

from oxswarm.directory.connection import Entry
from oxswarm.oxtrust.audit import MASK, cli_actor, event_from_entry, redact


def test_redact_masks_secrets_at_any_depth() -> None:
    detail = {
        "client_secret": "s3cr3t",
        "password": "pw",
        "nested": [{"registration_access_token": "t", "name": "x"}],
        "token_endpoint_auth_method": "client_secret_basic",
        "jwks_uri": "https://rp.example/jwks",
        "empty_password": "",
    }
    clean = redact(detail)
    assert clean["client_secret"] == MASK
    assert clean["password"] == MASK
    assert clean["nested"] == [{"registration_access_token": MASK, "name": "x"}]
    assert clean["token_endpoint_auth_method"] == "client_secret_basic"
    assert clean["jwks_uri"] == "https://rp.example/jwks"
    assert clean["empty_password"] == ""
    assert "s3cr3t" not in repr(clean) and "pw'" not in repr(clean)


def test_event_time_comes_from_the_id_to_the_microsecond() -> None:
    entry = Entry(
        "inum=20261130173001123456-abcd,ou=audit,o=gluu",
        {
            "inum": ["20261130173001123456-abcd"],
            "oxauditactor": ["cli:root"],
            "oxauditaction": ["client.create"],
            "oxaudittime": ["20261130173001Z"],
            "oxauditdetail": ['{"a":1}'],
        },
    )
    event = event_from_entry(entry)
    assert event.to_json()["time"] == "2026-11-30T17:30:01.123456Z"
    assert event.actor == "cli:root" and event.detail == {"a": 1} and event.address is None


def test_cli_actor() -> None:
    assert cli_actor().startswith("cli:") and len(cli_actor()) > 4
