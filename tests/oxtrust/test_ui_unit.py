"""Pure pieces of the admin UI: signed cookies, CSRF tokens, form checks."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from oxswarm.directory.models import Person
from oxswarm.oxauth.web.security import csrf_token, session_cookie_value
from oxswarm.oxtrust.ui import session as sessions
from oxswarm.oxtrust.ui.deps import UiSettings, ui_secret
from oxswarm.oxtrust.ui.people import _password_error, _person

SECRET = ui_secret("cluster-session-secret")


def deps() -> Any:
    settings = UiSettings(public_url="https://id.example.org", oxauth_url="http://oxauth:8080",
                          client_id="1001.x", client_secret="s", secret=SECRET)
    return SimpleNamespace(settings=settings)


def session(sid: str = "sid-1") -> sessions.UiSession:
    return sessions.UiSession(sid, "inum-1", "admin", "id.token.x", 0, 10)


def test_ui_key_is_its_own() -> None:
    assert ui_secret("cluster-session-secret") == SECRET
    assert ui_secret("other") != SECRET and SECRET != "cluster-session-secret"
    # an oxAuth cookie (signed with the session secret itself) is not a UI cookie
    oxauth_cookie = session_cookie_value("cluster-session-secret", "sid-1")
    assert sessions.sid_from_cookie(SECRET, oxauth_cookie) is None


def test_cookie_round_trip_and_tampering() -> None:
    value = session_cookie_value(SECRET, "sid-1")
    assert sessions.sid_from_cookie(SECRET, value) == "sid-1"
    assert sessions.sid_from_cookie(SECRET, "sid-2" + value[5:]) is None
    assert sessions.sid_from_cookie(SECRET, value[:-1] + "A") is None
    for bad in (None, "", "nodot", ".", "sid-1.\u00e9\u00e9", "\u00e9.x"):
        assert sessions.sid_from_cookie(SECRET, bad) is None  # never an exception


def test_csrf_token_bound_to_session_and_compared_bytewise() -> None:
    d, s = deps(), session()
    token = sessions.token_for(d, s)
    assert sessions.token_ok(d, s, token)
    assert not sessions.token_ok(d, session("sid-2"), token)
    assert not sessions.token_ok(d, s, None) and not sessions.token_ok(d, s, "")
    assert not sessions.token_ok(d, s, "\u00e9" * len(token))  # non-ASCII: refused, no error
    # oxAuth's token for the same sid and purpose is not the UI's
    assert not sessions.token_ok(d, s, csrf_token("cluster-session-secret", "ui", "sid-1"))


def test_settings_urls() -> None:
    s = deps().settings
    assert s.secure
    assert s.callback == "https://id.example.org/identity/auth/callback"
    assert s.signed_out == "https://id.example.org/identity/auth/signed-out"


def test_person_form_names_each_bad_field() -> None:
    person, errors = _person({"uid": "", "family_name": ""}, "inum-1", "active")
    assert person is None
    assert errors == {"uid": "uid: required", "family_name": "family_name: required"}
    person, errors = _person({"uid": "jane", "family_name": "Doe"}, "inum-1", "active")
    assert person is not None and not errors and person.uid == "jane"
    assert _password_error("short") == "password: at least 8 characters"
    assert _password_error("long-enough", "other-one") == "password: the two entries differ"
    assert _password_error("long-enough", "long-enough") is None


def test_person_edit_keeps_what_the_form_does_not_show() -> None:
    stored = Person(inum="inum-1", uid="jane", family_name="Doe", email="j@example.org",
                    email_verified=True, locality="Paris", status="inactive")
    form = {"uid": "jane", "family_name": "Doe", "given_name": "Jane", "email": "j@example.org"}
    person, errors = _person(form, "inum-1", stored.status, stored)
    assert not errors and person is not None
    assert (person.given_name, person.locality, person.email_verified, person.status) == (
        "Jane", "Paris", True, "inactive")


def test_provider_mapping_rows_name_the_bad_row() -> None:
    import pytest

    from oxswarm.errors import InvalidInput
    from oxswarm.oxtrust.ui.providers import edited, entered_mapping, mapping_rows
    from oxswarm.passport.providers import build, version

    rows = {"map_claim_0": "nickname", "map_field_0": "display_name",
            "map_claim_1": "", "map_field_1": "", "map_claim_2": "locale", "map_field_2": ""}
    assert entered_mapping(rows) == {"nickname": "display_name", "locale": ""}
    for bad, field in (({"map_claim_1": "a b", "map_field_1": "email"}, "map_claim_1"),
                       ({"map_claim_1": "", "map_field_1": "email"}, "map_claim_1"),
                       ({"map_claim_1": "nickname", "map_field_1": "email"}, "map_claim_1"),
                       ({"map_claim_1": "x", "map_field_1": "userPassword"}, "map_field_1"),
                       ({"map_claim_1": "x", "map_field_1": "status"}, "map_field_1")):
        with pytest.raises(InvalidInput) as refused:
            entered_mapping({**rows, **bad})
        assert refused.value.field == field and str(refused.value).startswith("mapping:")
    provider = build({"id": "p", "issuer": "https://op.example", "client_id": "c",
                      "mapping": {"b": "email", "a": "uid"}})
    assert mapping_rows(dict(provider.mapping), 2) == [("a", "uid"), ("b", "email"),
                                                       ("", ""), ("", "")]
    changed = edited(provider, {**rows, "name": " Partner  OP ", "linking": "create",
                                "update": "always", "issuer": "https://op.example",
                                "client_id": "c", "scopes": "openid email"})
    assert (changed.name, changed.update, changed.scopes) == ("Partner OP", "always",
                                                              ("openid", "email"))
    assert dict(changed.mapping) == {"nickname": "display_name", "locale": ""}
    assert version(changed) != version(provider)  # what a stale form is told apart by
    assert version(provider) == version(build(provider.public()))
    with pytest.raises(InvalidInput) as refused:
        edited(provider, {**rows, "linking": "merge", "update": "first",
                          "issuer": "https://op.example", "client_id": "c"})
    assert refused.value.field == "linking"
