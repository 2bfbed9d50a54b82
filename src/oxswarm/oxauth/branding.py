"""The organisation's branding of oxAuth's pages (sign-in, consent, signed-out, errors).

Values in the config store (plain, under ``config/``, so the live-policy watch on
``config/oxauth_`` brings a change to every oxAuth process within a second):

* ``oxauth_brand_name``: the name shown above the forms (at most 80 characters; empty: the
  organisation's ``org_name``, else "OxSwarm").
* ``oxauth_brand_color``: buttons, links and focus rings, ``#rrggbb`` (default ``#1a5fb4``).
* ``oxauth_brand_background``: the page's background, ``#rrggbb`` (default ``#f6f5f4``).
* ``oxauth_brand_logo``: base64 of a PNG or JPEG image of at most 100,000 bytes, checked
  by its magic bytes (never SVG: an SVG is a document that can carry scripts). oxAuth
  serves it itself (``/oxauth/branding/logo``) with the type its bytes name and
  ``X-Content-Type-Options: nosniff``; the pages' CSP allows images from ``'self'`` only.

The stylesheet (``/oxauth/branding/style.css``) is generated from these values: no inline
style or script is needed, and the text colour on buttons is chosen for contrast (WCAG 2.1
relative luminance). :func:`read_branding` is the one validator (the admin UI writes only
what it accepts); a malformed stored value is an :class:`~oxswarm.errors.InvalidInput`
naming it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from oxswarm.config import keys as K
from oxswarm.errors import InvalidInput

NAME: Final = "oxauth_brand_name"
COLOR: Final = "oxauth_brand_color"
BACKGROUND: Final = "oxauth_brand_background"
LOGO: Final = "oxauth_brand_logo"
NAMES: Final = (NAME, COLOR, BACKGROUND, LOGO)

DEFAULT_COLOR: Final = "#1a5fb4"
DEFAULT_BACKGROUND: Final = "#f6f5f4"
MAX_NAME: Final = 80
MAX_LOGO: Final = 100_000  # bytes of the image
_HEX: Final = re.compile(r"^#[0-9a-f]{6}$")
PNG_MAGIC: Final = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC: Final = b"\xff\xd8\xff"


@dataclass(frozen=True, slots=True)
class Branding:
    name: str = "OxSwarm"
    color: str = DEFAULT_COLOR
    background: str = DEFAULT_BACKGROUND
    logo: bytes = b""
    logo_type: str = ""

    @property
    def version(self) -> str:
        """A short hash of everything shown: the stylesheet's and logo's cache buster."""
        digest = hashlib.sha256(
            "|".join((self.name, self.color, self.background)).encode() + self.logo
        )
        return digest.hexdigest()[:16]


def colour(value: str, name: str) -> str:
    """``#rrggbb`` (case folded), else InvalidInput naming ``name``."""
    text = value.strip().lower()
    if not _HEX.match(text):
        raise InvalidInput(f"{name}: {value[:20]!r} is not a colour #rrggbb", field=name)
    return text


def image_type(data: bytes, name: str = LOGO) -> str:
    """The content type of a logo by its magic bytes: PNG or JPEG only, at most MAX_LOGO."""
    if not data:
        raise InvalidInput(f"{name}: the file is empty", field=name)
    if len(data) > MAX_LOGO:
        raise InvalidInput(f"{name}: larger than the {MAX_LOGO} bytes allowed", field=name)
    if data.startswith(PNG_MAGIC):
        return "image/png"
    if data.startswith(JPEG_MAGIC):
        return "image/jpeg"
    raise InvalidInput(f"{name}: not a PNG or JPEG image (SVG is not accepted)", field=name)


def encode_logo(data: bytes) -> str:
    """The stored form of a logo (checked first)."""
    image_type(data)
    return base64.b64encode(data).decode()


def brand_name(value: str, name: str = NAME) -> str:
    text = " ".join(value.split())
    if len(text) > MAX_NAME:
        raise InvalidInput(f"{name}: at most {MAX_NAME} characters", field=name)
    if any(ord(c) < 32 for c in value if c not in "\t\n\r"):
        raise InvalidInput(f"{name}: control characters are not allowed", field=name)
    return text


def read_branding(get: Callable[[str], str | None]) -> Branding:
    """The branding from ``get`` (a config value by name); absent values take defaults."""
    name = brand_name(get(NAME) or "") or brand_name(get(K.ORG_NAME) or "", K.ORG_NAME)
    logo = b""
    logo_type = ""
    if stored := (get(LOGO) or "").strip():
        try:
            logo = base64.b64decode(stored, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInput(f"{LOGO}: not base64", field=LOGO) from None
        logo_type = image_type(logo)
    return Branding(
        name=name or "OxSwarm",
        color=colour(get(COLOR) or DEFAULT_COLOR, COLOR),
        background=colour(get(BACKGROUND) or DEFAULT_BACKGROUND, BACKGROUND),
        logo=logo,
        logo_type=logo_type,
    )


def _luminance(hex_colour: str) -> float:
    """WCAG 2.1 relative luminance of ``#rrggbb``."""

    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    """The WCAG contrast ratio of two colours (1 to 21)."""
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def text_on(background: str) -> str:
    """Black or white, whichever reads better on ``background``."""
    return "#ffffff" if contrast(background, "#ffffff") >= contrast(background, "#000000") \
        else "#000000"


def stylesheet(b: Branding) -> str:
    """The pages' CSS (values already validated: only ``#rrggbb`` reach it)."""
    on_colour = text_on(b.color)
    ink = text_on(b.background)
    card = "#ffffff" if ink == "#000000" else "#1e1e1e"
    card_ink = "#1a1a1a" if card == "#ffffff" else "#f0f0f0"
    link = b.color if contrast(b.color, card) >= 3 else card_ink
    return f""":root {{ --brand: {b.color}; --on-brand: {on_colour}; --bg: {b.background};
  --ink: {ink}; --card: {card}; --card-ink: {card_ink}; --link: {link}; }}
*, *::before, *::after {{ box-sizing: border-box; }}
html {{ -webkit-text-size-adjust: 100%; }}
body {{ margin: 0; min-height: 100vh; font-family: system-ui, -apple-system, "Segoe UI",
  Roboto, sans-serif; font-size: 1rem; line-height: 1.5; background: var(--bg);
  color: var(--ink); }}
.brand {{ display: flex; align-items: center; justify-content: center; gap: .75rem;
  padding: 1.5rem 1rem .5rem; text-align: center; }}
.brand img {{ max-height: 3.5rem; max-width: 12rem; height: auto; width: auto; }}
.brand .org {{ font-size: 1.25rem; font-weight: 700; overflow-wrap: anywhere; }}
main {{ width: 100%; max-width: 28rem; margin: 1rem auto 2rem; padding: 1.5rem 1.25rem;
  background: var(--card); color: var(--card-ink); border-radius: .75rem;
  box-shadow: 0 1px 3px rgba(0,0,0,.15); overflow-wrap: anywhere; }}
@media (max-width: 30rem) {{ main {{ margin: .5rem 0 1rem; border-radius: 0; }} }}
h1 {{ font-size: 1.5rem; margin: 0 0 1rem; }}
a {{ color: var(--link); }}
label {{ display: block; margin-top: 1rem; font-weight: 600; }}
input[type=text], input[type=password] {{ display: block; width: 100%; margin-top: .25rem;
  padding: .6rem; font-size: 1rem; border: 1px solid #8a8a8a; border-radius: .375rem;
  background: #ffffff; color: #1a1a1a; }}
button {{ margin-top: 1.25rem; margin-right: .5rem; padding: .65rem 1.25rem;
  font-size: 1rem; font-weight: 600; border: 2px solid var(--brand); border-radius: .375rem;
  background: var(--brand); color: var(--on-brand); cursor: pointer; }}
button.secondary, button[value=deny] {{ background: transparent; color: var(--card-ink); }}
form > button[type=submit]:only-of-type {{ width: 100%; }}
.error {{ color: #a00000; background: #fdecec; border-left: 4px solid #a00000;
  padding: .5rem .75rem; }}
:focus-visible {{ outline: 3px solid var(--brand); outline-offset: 2px; }}
code {{ overflow-wrap: anywhere; }}
.hidden-frames iframe {{ display: none; }}
footer {{ text-align: center; font-size: .85rem; padding-bottom: 1rem; }}
"""
