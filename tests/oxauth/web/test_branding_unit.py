"""The pure parts of the pages' branding and language: colour and logo checks, the
stylesheet, ``Accept-Language`` parsing and negotiation, the catalogues, the rendering."""

from __future__ import annotations

import base64
import re

import pytest
from starlette.requests import Request

from oxswarm.errors import InvalidInput
from oxswarm.oxauth import branding as B
from oxswarm.oxauth.branding import Branding, colour, image_type, read_branding, stylesheet
from oxswarm.oxauth.web import i18n, render

PNG = B.PNG_MAGIC + b"\x00\x00\x00\rIHDR" + b"\x00" * 32
JPEG = B.JPEG_MAGIC + b"\xe0" + b"\x00" * 32
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


def test_colours_are_rrggbb_only() -> None:
    assert colour(" #A0B1C2 ", "c") == "#a0b1c2"
    for bad in ("red", "#abc", "#12345g", "#1234567", "", "#123456;}body{x:y", "rgb(1,2,3)"):
        with pytest.raises(InvalidInput, match=r"^c: "):
            colour(bad, "c")


def test_logo_by_magic_bytes_with_a_size_cap() -> None:
    assert image_type(PNG) == "image/png"
    assert image_type(JPEG) == "image/jpeg"
    for bad in (SVG, b"GIF89a....", b"", b"<html>" + PNG):
        with pytest.raises(InvalidInput, match="oxauth_brand_logo"):
            image_type(bad)
    with pytest.raises(InvalidInput, match="larger than the 100000 bytes allowed"):
        image_type(PNG + b"\x00" * B.MAX_LOGO)


def test_read_branding_defaults_and_refusals() -> None:
    assert read_branding(lambda _k: None) == Branding()
    assert read_branding({"org_name": "Acme"}.get).name == "Acme"
    stored = {B.NAME: "  Example   Org ", B.COLOR: "#FF0000",
              B.LOGO: base64.b64encode(PNG).decode()}
    got = read_branding(stored.get)
    assert (got.name, got.color, got.logo, got.logo_type) == (
        "Example Org", "#ff0000", PNG, "image/png")
    for name, value in ((B.COLOR, "blue"), (B.BACKGROUND, "#12"), (B.LOGO, "***"),
                        (B.LOGO, base64.b64encode(SVG).decode()), (B.NAME, "x" * 81),
                        (B.NAME, "a\x00b")):
        with pytest.raises(InvalidInput) as caught:
            read_branding({name: value}.get)
        assert caught.value.field == name


def test_version_changes_with_anything_shown() -> None:
    base = Branding()
    assert base.version == Branding().version
    assert len({base.version, Branding(name="X").version, Branding(color="#000000").version,
                Branding(logo=PNG, logo_type="image/png").version}) == 4


def test_stylesheet_uses_the_colours_with_readable_text() -> None:
    css = stylesheet(Branding(color="#ffff00", background="#101010"))
    assert "--brand: #ffff00" in css and "--bg: #101010" in css
    assert "--on-brand: #000000" in css  # black on yellow
    assert "--ink: #ffffff" in css  # white on a dark background
    assert B.contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert "--on-brand: #ffffff" in stylesheet(Branding(color="#1a5fb4"))


@pytest.mark.parametrize(("header", "expected"), [
    ("fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5", ["fr-CH", "fr", "en", "de", "*"]),
    ("en;q=0.1, de", ["de", "en"]),
    ("de;q=0, fr", ["fr"]),
    ("de;q=0.5, fr;q=0.5", ["de", "fr"]),  # equal q: the header's order
    ("x-bad!, fr;q=2, it;level=1, es;q=0.3", ["es"]),
    ("", []),
    (None, []),
])
def test_accept_language_ranges(header: str | None, expected: list[str]) -> None:
    assert i18n.accept_language(header) == expected


@pytest.mark.parametrize(("header", "ui_locales", "expected"), [
    ("fr", None, "fr"),
    ("de-AT,de;q=0.9", None, "de"),
    ("it, es", None, "en"),
    ("en;q=0.4, fr;q=0.8", None, "fr"),
    ("fr;q=0, de;q=0.2", None, "de"),
    ("FR-fr", None, "fr"),
    ("*", None, "en"),
    (None, None, "en"),
    ("fr", "de en", "de"),  # ui_locales first (OpenID Connect Core 3.1.2.1)
    ("fr", "it", "fr"),
    ("x" * 5000, None, "en"),
])
def test_negotiation(header: str | None, ui_locales: str | None, expected: str) -> None:
    assert i18n.negotiate(header, ui_locales) == expected


def test_catalogues_cover_every_message() -> None:
    assert set(i18n.available()) >= {"en", "fr", "de"}
    assert i18n.gettext("fr", "Sign in") == "Se connecter"
    assert i18n.gettext("de", "The username or password is wrong.") == \
        "Benutzername oder Passwort ist falsch."
    assert i18n.gettext("en", "Sign in") == "Sign in"
    assert i18n.gettext("fr", "not in the catalogue") == "not in the catalogue"
    from babel.messages.pofile import read_po
    for lang in ("fr", "de"):
        path = i18n.resources.files(i18n.__package__).joinpath(
            "locale", lang, "LC_MESSAGES", "messages.po")
        with path.open("rb") as handle:
            catalog = read_po(handle)
        untranslated = [m.id for m in catalog if m.id and not m.string]
        assert not untranslated, (lang, untranslated)
        for message in catalog:  # placeholders kept
            if message.id:
                assert sorted(re.findall(r"%\(\w+\)s", message.id)) == \
                    sorted(re.findall(r"%\(\w+\)s", str(message.string)))


class _Deps:
    def __init__(self, brand: Branding) -> None:
        self.extras = {"branding": brand}


def _request(accept: str) -> Request:
    return Request({"type": "http", "method": "GET", "path": "/", "query_string": b"",
                    "headers": [(b"accept-language", accept.encode())]})


def test_pages_in_the_language_and_branding_with_a_strict_csp() -> None:
    brand = Branding(name="Acme <Corp>", logo=PNG, logo_type="image/png")
    render.use(_request("fr-FR,fr;q=0.9"), _Deps(brand))  # type: ignore[arg-type]
    response = render.page("login.html", action="/oxauth/login", csrf_token="t", authz="a",
                           client_name="<b>RP</b>", username="", error=render_error())
    body = response.body.decode()
    assert '<html lang="fr">' in body
    assert ">Se connecter</h1>" in body
    assert "pour continuer vers <strong>&lt;b&gt;RP&lt;/b&gt;</strong>" in body
    assert "L’identifiant ou le mot de passe est incorrect." in body
    assert f'href="/oxauth/branding/style.css?v={brand.version}"' in body
    assert f'src="/oxauth/branding/logo?v={brand.version}"' in body
    assert "Acme &lt;Corp&gt;" in body and "<style" not in body
    csp = response.headers["content-security-policy"]
    assert "style-src 'self'" in csp and "img-src 'self'" in csp and "unsafe" not in csp
    assert response.headers["vary"].startswith("Accept-Language")
    assert response.headers["content-language"] == "fr"


def render_error() -> str:
    from oxswarm.oxauth.web.login import MSG_WRONG
    return MSG_WRONG


def test_error_descriptions_are_looked_up_and_escaped() -> None:
    render.use(_request("de"), _Deps(Branding()))  # type: ignore[arg-type]
    body = render.error_page("invalid_request", "bad %(x)s 100% <script>").body.decode()
    assert "bad %(x)s 100% &lt;script&gt;" in body and "<script>" not in body
    from oxswarm.oxauth.web.login import MSG_LOCKED
    locked = render.error_page("x", MSG_LOCKED).body.decode()
    assert "Zu viele fehlgeschlagene Anmeldeversuche." in locked
