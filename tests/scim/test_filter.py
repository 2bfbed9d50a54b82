"""The SCIM filter grammar (RFC 7644 3.4.2.2): operators, precedence, paths, limits."""

from __future__ import annotations

import pytest

from oxswarm.scim.errors import InvalidFilter, InvalidPath
from oxswarm.scim.filter import (
    MAX_DEPTH,
    MAX_LENGTH,
    MAX_TERMS,
    And,
    AttrPath,
    Compare,
    Not,
    Or,
    PatchPath,
    Present,
    ValuePath,
    parse_filter,
    parse_path,
)

USER = "urn:ietf:params:scim:schemas:core:2.0:User"


@pytest.mark.parametrize("op", ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"])
def test_every_compare_operator(op: str) -> None:
    assert parse_filter(f'userName {op} "bjensen"') == Compare(AttrPath("userName"), op, "bjensen")


def test_operators_and_keywords_are_case_insensitive() -> None:
    assert parse_filter('userName EQ "a" AND title Pr') == And(
        Compare(AttrPath("userName"), "eq", "a"), Present(AttrPath("title"))
    )


def test_present() -> None:
    assert parse_filter("title pr") == Present(AttrPath("title"))


def test_values_true_false_null_numbers() -> None:
    assert parse_filter("active eq true").value is True  # type: ignore[union-attr]
    assert parse_filter("active eq FALSE").value is False  # type: ignore[union-attr]
    assert parse_filter("x eq null").value is None  # type: ignore[union-attr]
    assert parse_filter("x gt 42").value == 42  # type: ignore[union-attr]
    assert parse_filter("x gt -1.5e2").value == -150.0  # type: ignore[union-attr]


def test_string_escapes_are_json() -> None:
    node = parse_filter(r'displayName eq "a \"quoted\" \\ name \u00e9"')
    assert node == Compare(AttrPath("displayName"), "eq", 'a "quoted" \\ name é')


def test_and_binds_tighter_than_or() -> None:
    a, b, c = (Compare(AttrPath(n), "eq", "1") for n in "abc")
    assert parse_filter('a eq "1" or b eq "1" and c eq "1"') == Or(a, And(b, c))
    assert parse_filter('a eq "1" and b eq "1" or c eq "1"') == Or(And(a, b), c)


def test_grouping_overrides_precedence() -> None:
    a, b, c = (Compare(AttrPath(n), "eq", "1") for n in "abc")
    assert parse_filter('(a eq "1" or b eq "1") and c eq "1"') == And(Or(a, b), c)


def test_not() -> None:
    assert parse_filter('not (a eq "1")') == Not(Compare(AttrPath("a"), "eq", "1"))
    assert parse_filter('a pr and not (b eq "x" or c pr)') == And(
        Present(AttrPath("a")),
        Not(Or(Compare(AttrPath("b"), "eq", "x"), Present(AttrPath("c")))),
    )


def test_value_path() -> None:
    node = parse_filter('emails[type eq "work" and value co "@example.com"]')
    assert node == ValuePath(
        AttrPath("emails"),
        And(
            Compare(AttrPath("type"), "eq", "work"),
            Compare(AttrPath("value"), "co", "@example.com"),
        ),
    )


def test_value_path_inside_logic() -> None:
    node = parse_filter(
        'userType eq "Employee" and (emails co "example.com" or emails[type eq "x"])'
    )
    assert isinstance(node, And) and isinstance(node.right, Or)
    assert isinstance(node.right.right, ValuePath)


def test_sub_attribute_and_schema_urn() -> None:
    assert parse_filter('name.familyName co "O\'Malley"') == Compare(
        AttrPath("name", "familyName"), "co", "O'Malley"
    )
    node = parse_filter(f'{USER}:name.givenName sw "B"')
    assert node == Compare(AttrPath("name", "givenName", USER), "sw", "B")
    ext = "urn:ietf:params:scim:schemas:extension:gluu:2.0:User"
    assert parse_filter(f"{ext}:emailVerified eq true") == Compare(
        AttrPath("emailVerified", None, ext), "eq", True
    )


def test_meta_dates() -> None:
    node = parse_filter('meta.lastModified gt "2011-05-13T04:42:34Z"')
    assert node == Compare(AttrPath("meta", "lastModified"), "gt", "2011-05-13T04:42:34Z")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "userName",
        "userName eq",
        'userName xx "a"',
        "userName eq bjensen",  # a string needs quotes
        'userName eq "a" and',
        'userName eq "a" or or b pr',
        '(userName eq "a"',
        'userName eq "a")',
        'not userName eq "a"',  # not needs parentheses
        'emails[type eq "work"',
        'emails[type eq "work"]]',
        'emails[addresses[type eq "x"]]',  # nested value paths
        'name.given.more eq "a"',
        '1abc eq "a"',
        'userName eq "unterminated',
        'userName eq "bad \\x escape"',
        "a pr b pr",
        "[a pr]",
    ],
)
def test_malformed_filters_are_invalid_filter(text: str) -> None:
    with pytest.raises(InvalidFilter) as caught:
        parse_filter(text)
    assert caught.value.status == 400
    assert caught.value.body()["scimType"] == "invalidFilter"


def test_bounds() -> None:
    with pytest.raises(InvalidFilter, match="longer"):
        parse_filter('a eq "' + "x" * MAX_LENGTH + '"')
    with pytest.raises(InvalidFilter, match="deeper"):
        parse_filter("(" * (MAX_DEPTH + 2) + "a pr" + ")" * (MAX_DEPTH + 2))
    with pytest.raises(InvalidFilter, match="comparisons"):
        parse_filter(" or ".join(["a pr"] * (MAX_TERMS + 1)))
    parse_filter("(" * MAX_DEPTH + "a pr" + ")" * MAX_DEPTH)  # at the limit: fine


def test_patch_paths() -> None:
    assert parse_path("name.familyName") == PatchPath(AttrPath("name", "familyName"))
    assert parse_path('emails[type eq "work"].value') == PatchPath(
        AttrPath("emails"), Compare(AttrPath("type"), "eq", "work"), "value"
    )
    assert parse_path('members[value eq "2819c223"]') == PatchPath(
        AttrPath("members"), Compare(AttrPath("value"), "eq", "2819c223")
    )
    with pytest.raises(InvalidPath):
        parse_path('emails[type eq "work"')
    with pytest.raises(InvalidPath):
        parse_path('emails[type eq "work"]value')
