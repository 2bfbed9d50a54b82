"""PATCH (RFC 7644 3.5.2), input checks and attribute projection, on plain resources."""

from __future__ import annotations

from typing import Any

import pytest

from oxswarm.scim.errors import InvalidPath, InvalidSyntax, InvalidValue, Mutability, NoTarget
from oxswarm.scim.patch import apply_patch
from oxswarm.scim.resource import normalize, project
from oxswarm.scim.schemas import GLUU_USER, GROUP_TYPE, PATCH_OP, USER, USER_TYPE


def user() -> dict[str, Any]:
    return {
        "schemas": [USER],
        "id": "u1",
        "userName": "bjensen",
        "name": {"familyName": "Jensen", "givenName": "Barbara"},
        "emails": [
            {"value": "b@work.example", "type": "work", "primary": True},
            {"value": "b@home.example", "type": "home"},
        ],
        "meta": {"resourceType": "User", "location": "https://x/Users/u1"},
    }


def patch(*ops: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": list(ops)}


def test_replace_sub_attribute() -> None:
    out = apply_patch(
        user(), patch({"op": "replace", "path": "name.givenName", "value": "Babs"}), USER_TYPE
    )
    assert out["name"] == {"familyName": "Jensen", "givenName": "Babs"}


def test_add_to_multi_valued_and_without_path() -> None:
    out = apply_patch(
        user(),
        patch(
            {"op": "add", "path": "emails", "value": [{"value": "c@x.example", "type": "other"}]},
            {
                "op": "add",
                "value": {"displayName": "Babs", f"{GLUU_USER}": {"emailVerified": True}},
            },
        ),
        USER_TYPE,
    )
    assert [e["value"] for e in out["emails"]][-1] == "c@x.example"
    assert out["displayName"] == "Babs"
    assert out[GLUU_USER] == {"emailVerified": True}


def test_value_filter_selects_values() -> None:
    out = apply_patch(
        user(),
        patch(
            {"op": "replace", "path": 'emails[type eq "work"].value', "value": "new@work.example"}
        ),
        USER_TYPE,
    )
    assert out["emails"][0]["value"] == "new@work.example"
    assert out["emails"][1]["value"] == "b@home.example"
    out = apply_patch(user(), patch({"op": "remove", "path": 'emails[type eq "home"]'}), USER_TYPE)
    assert [e["type"] for e in out["emails"]] == ["work"]


def test_remove_attribute_and_group_members() -> None:
    out = apply_patch(user(), patch({"op": "remove", "path": "name.familyName"}), USER_TYPE)
    assert out["name"] == {"givenName": "Barbara"}
    group = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "g",
        "members": [{"value": "a"}, {"value": "b"}, {"value": "c"}],
    }
    out = apply_patch(group, patch({"op": "remove", "path": 'members[value eq "b"]'}), GROUP_TYPE)
    assert [m["value"] for m in out["members"]] == ["a", "c"]
    out = apply_patch(
        group, patch({"op": "remove", "path": "members", "value": [{"value": "a"}]}), GROUP_TYPE
    )
    assert [m["value"] for m in out["members"]] == ["b", "c"]


def test_original_is_untouched_when_a_later_operation_fails() -> None:
    original = user()
    with pytest.raises(NoTarget):
        apply_patch(
            original,
            patch(
                {"op": "replace", "path": "displayName", "value": "X"},
                {"op": "replace", "path": 'emails[type eq "nope"].value', "value": "y"},
            ),
            USER_TYPE,
        )
    assert "displayName" not in original


@pytest.mark.parametrize(
    ("ops", "error", "named"),
    [
        ({"op": "replace", "path": "id", "value": "x"}, Mutability, "id"),
        ({"op": "replace", "path": "meta.created", "value": "x"}, Mutability, "meta"),
        ({"op": "add", "path": "groups", "value": [{"value": "g"}]}, Mutability, "groups"),
        ({"op": "remove"}, NoTarget, "path"),
        ({"op": "move", "path": "userName"}, InvalidSyntax, "op"),
        ({"op": "replace", "path": "nickName", "value": "x"}, InvalidPath, "nickName"),
        ({"op": "replace", "path": "emails[type eq", "value": "x"}, InvalidPath, "emails"),
        ({"op": "replace", "path": "userName"}, InvalidValue, "userName"),
    ],
)
def test_errors(ops: dict[str, Any], error: type[Exception], named: str) -> None:
    with pytest.raises(error) as caught:
        apply_patch(user(), patch(ops), USER_TYPE)
    assert named in str(caught.value)


def test_not_a_patch_op() -> None:
    with pytest.raises(InvalidSyntax):
        apply_patch(user(), {"Operations": []}, USER_TYPE)
    with pytest.raises(InvalidSyntax):
        apply_patch(user(), {"schemas": [PATCH_OP], "Operations": []}, USER_TYPE)


def test_normalize_checks_and_canonicalizes() -> None:
    body = {
        "schemas": [USER],
        "USERNAME": "x",
        "id": "ignored",
        "Name": {"FamilyName": "F"},
        "emails": [
            {"value": "a@b.c", "type": "WORK", "primary": True},
            {"value": "d@b.c", "primary": True},
        ],
        "unknown": 1,
    }
    out = normalize(body, USER_TYPE)
    assert out["userName"] == "x" and "id" not in out and "unknown" not in out
    assert out["name"] == {"familyName": "F"}
    assert out["emails"][0]["type"] == "work"
    assert [e["primary"] for e in out["emails"]] == [True, False]  # primary at most once


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"schemas": [USER]}, "userName"),
        ({"schemas": [USER], "userName": 5}, "userName"),
        ({"schemas": [USER], "userName": "x", "active": "yes"}, "active"),
        ({"schemas": [USER], "userName": "x", "emails": [{"value": "a", "type": "fax"}]}, "type"),
        ({"userName": "x"}, "schemas"),
    ],
)
def test_normalize_refuses_naming_the_field(body: dict[str, Any], named: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        normalize(body, USER_TYPE)
    assert named in caught.value.detail


def test_projection() -> None:
    full = user() | {"displayName": "B", GLUU_USER: {"emailVerified": True}}
    full["schemas"] = [USER, GLUU_USER]
    out = project(full, USER_TYPE, ["userName", "name.givenName"])
    assert set(out) == {"schemas", "id", "meta", "userName", "name"}
    assert out["name"] == {"givenName": "Barbara"}
    assert out["schemas"] == [USER]
    out = project(full, USER_TYPE, excluded=["emails", "name.familyName", "id", GLUU_USER])
    assert "emails" not in out and out["name"] == {"givenName": "Barbara"} and out["id"] == "u1"
    assert GLUU_USER not in out and out["schemas"] == [USER]
    out = project(full, USER_TYPE, [f"{GLUU_USER}:emailVerified", "emails.value"])
    assert out[GLUU_USER] == {"emailVerified": True}
    assert out["emails"] == [{"value": "b@work.example"}, {"value": "b@home.example"}]
