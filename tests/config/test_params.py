"""Validation of config-init's params: every bad field is named, the password never shown."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from oxswarm.config.params import Params
from oxswarm.errors import InvalidInput

VALID: dict[str, object] = {
    "hostname": "Id.Example.ORG",
    "country_code": "us",
    "state": "Texas",
    "city": "Austin",
    "admin_email": "admin@example.org",
    "org_name": "Acme Inc.",
    "admin_pw": "S3cret!pw",
}

BAD_VALUES: list[tuple[str, object]] = [
    # hostname: FQDN with at least three labels
    ("hostname", "example.org"),
    ("hostname", "localhost"),
    ("hostname", ""),
    ("hostname", "id..example.org"),
    ("hostname", "-id.example.org"),
    ("hostname", "id-.example.org"),
    ("hostname", "id_x.example.org"),
    ("hostname", "id example.org.x"),
    ("hostname", "id.example.org."),
    ("hostname", "a" * 64 + ".example.org"),
    ("hostname", ".".join(["a" * 60] * 5)),
    ("hostname", "10.0.0.1"),
    ("hostname", "idé.example.org"),
    ("hostname", 42),
    ("hostname", None),
    # e-mail
    ("admin_email", "admin"),
    ("admin_email", "admin@"),
    ("admin_email", "@example.org"),
    ("admin_email", "admin@localhost"),
    ("admin_email", "ad min@example.org"),
    ("admin_email", "admin@@example.org"),
    ("admin_email", "admin.@example.org"),
    ("admin_email", "a@" + "b" * 250 + ".org"),
    ("admin_email", ["admin@example.org"]),
    # country code
    ("country_code", "USA"),
    ("country_code", "U"),
    ("country_code", ""),
    ("country_code", "U1"),
    ("country_code", "Üs"),
    ("country_code", 1),
    # free text
    ("state", ""),
    ("state", "   "),
    ("state", "Tex\nas"),
    ("state", "x" * 65),
    ("state", 7),
    ("city", ""),
    ("city", "Aus\x00tin"),
    ("city", "x" * 65),
    ("city", True),
    ("org_name", ""),
    ("org_name", "Acme\tInc"),
    ("org_name", "x" * 62),
    ("org_name", {"name": "Acme"}),
    # admin password: >= 8 chars with upper, lower, digit, special
    ("admin_pw", "S3c!pw"),
    ("admin_pw", "s3cret!pw"),
    ("admin_pw", "S3CRET!PW"),
    ("admin_pw", "Secret!pw"),
    ("admin_pw", "S3cretpw1"),
    ("admin_pw", "S3cret pw"),
    ("admin_pw", ""),
    ("admin_pw", "S3cret!pw\n"),
    ("admin_pw", "S3cret!" + "x" * 300),
    ("admin_pw", 12345678),
    ("admin_pw", None),
]


def test_valid_params_accepted_and_normalised() -> None:
    params = Params.from_mapping(VALID)
    assert params.hostname == "id.example.org"
    assert params.country_code == "US"
    assert params.org_name == "Acme Inc."
    assert params.admin_pw.get_secret_value() == "S3cret!pw"


def test_surrounding_blanks_stripped_from_text() -> None:
    params = Params.from_mapping({**VALID, "city": "  Austin ", "org_name": " Acme "})
    assert (params.city, params.org_name) == ("Austin", "Acme")


def test_params_are_frozen() -> None:
    params = Params.from_mapping(VALID)
    with pytest.raises(ValueError, match="frozen"):
        params.hostname = "other.example.org"  # type: ignore[misc]


def test_password_never_printed() -> None:
    params = Params.from_mapping(VALID)
    assert "S3cret!pw" not in repr(params)
    assert "S3cret!pw" not in str(params)
    assert "S3cret!pw" not in params.model_dump_json()


@pytest.mark.parametrize(("field", "value"), BAD_VALUES)
def test_invalid_field_rejected_with_its_name(field: str, value: object) -> None:
    with pytest.raises(InvalidInput) as info:
        Params.from_mapping({**VALID, field: value})
    assert info.value.field == field
    message = str(info.value)
    assert message.startswith(f"{field}: ")
    assert "\n" not in message
    if field == "admin_pw" and isinstance(value, str) and value:
        assert value.strip() not in message


def test_password_rule_message() -> None:
    with pytest.raises(InvalidInput, match=r"^admin_pw: must be at least 8 characters with "):
        Params.from_mapping({**VALID, "admin_pw": "weakpassword"})


@pytest.mark.parametrize("field", list(VALID))
def test_missing_field_named(field: str) -> None:
    data = {name: value for name, value in VALID.items() if name != field}
    with pytest.raises(InvalidInput, match=f"^{field}: is required$") as info:
        Params.from_mapping(data)
    assert info.value.field == field


def test_unknown_field_named() -> None:
    with pytest.raises(InvalidInput, match=r"^ldap_pw: unknown field$") as info:
        Params.from_mapping({**VALID, "ldap_pw": "x"})
    assert info.value.field == "ldap_pw"


def test_first_bad_field_is_named() -> None:
    data = {**VALID, "country_code": "USA", "admin_pw": "weak"}
    with pytest.raises(InvalidInput) as info:
        Params.from_mapping(data)
    assert info.value.field == "country_code"


@pytest.mark.parametrize("data", [[], "params", 3, None, ["hostname"]])
def test_non_object_rejected(data: object) -> None:
    with pytest.raises(InvalidInput, match=r"^params: must be a JSON object$") as info:
        Params.from_mapping(data)
    assert info.value.field == "params"


def test_from_json_file(tmp_path: Path) -> None:
    path = tmp_path / "params.json"
    path.write_text(json.dumps(VALID), encoding="utf-8")
    assert Params.from_json_file(path).hostname == "id.example.org"


def test_json_file_missing(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"^params: cannot read .*") as info:
        Params.from_json_file(tmp_path / "absent.json")
    assert info.value.field == "params"


@pytest.mark.parametrize("text", ["{", "", "not json", '{"hostname": }'])
def test_json_file_invalid(tmp_path: Path, text: str) -> None:
    path = tmp_path / "params.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidInput, match=r"^params: .* is not valid JSON \(line") as info:
        Params.from_json_file(path)
    assert info.value.field == "params"


def test_json_file_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "params.json"
    path.write_bytes(b'{"hostname": "\xff"}')
    with pytest.raises(InvalidInput, match=r"^params: cannot read") as info:
        Params.from_json_file(path)
    assert info.value.field == "params"


def test_json_file_array(tmp_path: Path) -> None:
    path = tmp_path / "params.json"
    path.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(InvalidInput, match=r"^params: must be a JSON object$"):
        Params.from_json_file(path)


def test_json_file_bad_field(tmp_path: Path) -> None:
    path = tmp_path / "params.json"
    path.write_text(json.dumps({**VALID, "hostname": "example.org"}), encoding="utf-8")
    with pytest.raises(InvalidInput) as info:
        Params.from_json_file(path)
    assert info.value.field == "hostname"
