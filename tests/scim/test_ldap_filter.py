"""SCIM filters as LDAP filters (RFC 4515): every operator, escaping, refusals."""

from __future__ import annotations

import pytest
from ldap3.operation.search import parse_filter as ldap_parse

from oxswarm.directory.tree import Tree
from oxswarm.oxtrust.scim.mapping import group_map, user_map
from oxswarm.scim.errors import InvalidFilter
from oxswarm.scim.filter import parse_filter
from oxswarm.scim.ldap_filter import AttributeMap, LdapAttr, to_ldap

USERS = user_map(Tree())
GROUPS = group_map(Tree())
PLAIN = AttributeMap("urn:x", {"a": LdapAttr("la", ordered=True), "b": LdapAttr("lb")})


def ldap(text: str, attrs: AttributeMap = USERS) -> str:
    result = to_ldap(parse_filter(text), attrs)
    ldap_parse(
        result, None, auto_escape=False, auto_encode=False, validator=None, check_names=False
    )
    return result


@pytest.mark.parametrize(
    ("scim", "expected"),
    [
        ('a eq "x"', "(la=x)"),
        ('a ne "x"', "(!(la=x))"),
        ('a co "x"', "(la=*x*)"),
        ('a sw "x"', "(la=x*)"),
        ('a ew "x"', "(la=*x)"),
        ("a pr", "(la=*)"),
        ('a gt "m"', "(&(la>=m)(!(la=m)))"),
        ('a ge "m"', "(la>=m)"),
        ('a lt "m"', "(&(la<=m)(!(la=m)))"),
        ('a le "m"', "(la<=m)"),
    ],
)
def test_every_operator(scim: str, expected: str) -> None:
    assert ldap(scim, PLAIN) == expected


def test_logic_and_precedence() -> None:
    assert ldap('a eq "1" or b eq "2" and a pr', PLAIN) == "(|(la=1)(&(lb=2)(la=*)))"
    assert ldap('(a eq "1" or b eq "2") and a pr', PLAIN) == "(&(|(la=1)(lb=2))(la=*))"
    assert ldap('not (a eq "1")', PLAIN) == "(!(la=1))"


@pytest.mark.parametrize(
    ("value", "escaped"),
    [("*", "\\2a"), ("(", "\\28"), (")", "\\29"), ("\\\\", "\\5c"), ("\\u0000", "\\00")],
)
def test_values_are_escaped(value: str, escaped: str) -> None:
    assert ldap(f'userName eq "a{value}b"') == f"(uid=a{escaped}b)"


def test_injection_stays_a_value() -> None:
    result = ldap('userName eq "x)(objectClass=*"')
    assert result == "(uid=x\\29\\28objectClass=\\2a)"


def test_user_attributes_case_insensitive_and_urn() -> None:
    urn = "urn:ietf:params:scim:schemas:core:2.0:User"
    assert ldap('USERNAME eq "bjensen"') == "(uid=bjensen)"
    assert ldap(f'{urn}:name.familyName sw "J"') == "(sn=J*)"
    assert ldap('externalId ge "5"') == "(oxExternalId>=5)"
    ext = "urn:ietf:params:scim:schemas:extension:gluu:2.0:User"
    assert ldap(f"{ext}:emailVerified eq true") == "(oxEmailVerified=TRUE)"


def test_active_is_the_status() -> None:
    assert ldap("active eq true") == "(|(oxStatus=active)(!(oxStatus=*)))"
    assert ldap("active eq false") == "(oxStatus=inactive)"
    assert ldap("active ne false") == "(!(oxStatus=inactive))"


def test_dates_are_generalized_time() -> None:
    assert ldap('meta.created gt "2026-01-02T03:04:05Z"') == (
        "(&(createTimestamp>=20260102030405Z)(!(createTimestamp=20260102030405Z)))"
    )
    assert ldap('meta.lastModified le "2026-01-02T05:04:05+02:00"') == (
        "(modifyTimestamp<=20260102030405Z)"
    )


def test_value_paths_and_json_sub_attributes() -> None:
    assert ldap('emails[type eq "work"]') == '(oxScimEmail=*"type":"work"*)'
    assert ldap('emails[type eq "work" and value co "@ex"]') == (
        '(&(oxScimEmail=*"type":"work"*)(mail=*@ex*))'
    )
    assert ldap("emails.primary eq true") == '(oxScimEmail=*"primary":true*)'
    assert ldap("emails.type pr") == '(oxScimEmail=*"type":*)'
    assert ldap('emails co "@ex"') == "(mail=*@ex*)"  # emails means emails.value
    assert ldap('emails[type eq "a*b"]') == '(oxScimEmail=*"type":"a\\2ab"*)'


def test_group_members_are_dns() -> None:
    assert ldap('members[value eq "abc"]', GROUPS) == "(member=inum=abc,ou=people,o=gluu)"
    assert ldap('members.value eq "a(b"', GROUPS) == "(member=inum=a\\28b,ou=people,o=gluu)"
    assert ldap('displayName sw "Adm"', GROUPS) == "(displayName=Adm*)"


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ('password eq "x"', "password"),
        ('nickName eq "x"', "nickName"),
        ('userName gt "x"', "userName"),  # no ordering rule on uid
        ('emails[type co "w"]', "emails.type"),
        ('active eq "yes"', "active"),
        ('meta.created co "2026"', "meta.created"),
        ('meta.created gt "yesterday"', "meta.created"),
        ('members co "a"', "members"),
        ("userName eq true", "userName"),
        ('urn:other:schema:foo eq "x"', "foo"),
    ],
)
def test_unsupported_is_invalid_filter_naming_it(text: str, named: str) -> None:
    attrs = GROUPS if text.startswith("members") else USERS
    with pytest.raises(InvalidFilter) as caught:
        to_ldap(parse_filter(text), attrs)
    assert named in caught.value.detail
