"""The language of oxAuth's pages: ``ui_locales`` (OpenID Connect Core 3.1.2.1), else the
browser's ``Accept-Language`` (RFC 9110 12.5.4, q-values honoured), else English.

Translations are gettext message catalogues, ``locale/<lang>/LC_MESSAGES/messages.po``
next to this module (the source the translators edit; ``messages.pot`` lists every
message). They are compiled in memory with Babel when first used, so no binary ``.mo``
file is kept. :func:`negotiate` picks with Babel's :func:`babel.core.negotiate_locale` among
the languages that have a catalogue.
"""

from __future__ import annotations

import functools
import io
import re
from importlib import resources
from typing import Final

from babel.core import negotiate_locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

DEFAULT: Final = "en"
DOMAIN: Final = "messages"
MAX_HEADER: Final = 1024  # longer Accept-Language headers are cut (no quadratic parsing)
MAX_RANGES: Final = 32
_RANGE: Final = re.compile(r"^(?:\*|[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*)$")
_Q: Final = re.compile(r"^[qQ]=(0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?)$")


@functools.cache
def available() -> tuple[str, ...]:
    """English and every language with a catalogue in ``locale/``."""
    root = resources.files(__package__).joinpath("locale")
    found = sorted(
        entry.name for entry in root.iterdir()
        if entry.joinpath("LC_MESSAGES", f"{DOMAIN}.po").is_file()
    )
    return (DEFAULT, *(lang for lang in found if lang != DEFAULT))


def accept_language(header: str | None) -> list[str]:
    """The language ranges of an ``Accept-Language`` header, best first (q-values, then
    order); ``q=0`` and malformed ranges dropped."""
    if not header:
        return []
    ranked: list[tuple[float, int, str]] = []
    for index, item in enumerate(header[:MAX_HEADER].split(",")[:MAX_RANGES]):
        tag, *params = (part.strip() for part in item.split(";"))
        if not _RANGE.match(tag):
            continue
        q = 1.0
        for param in params:
            if match := _Q.match(param):
                q = float(match.group(1))
            elif param:
                q = -1.0  # an unknown parameter: a malformed range
        if q > 0:
            ranked.append((-q, index, tag))
    return [tag for _q, _i, tag in sorted(ranked)]


def negotiate(accept: str | None, ui_locales: str | None = None) -> str:
    """The language of a page: the first of ``ui_locales`` (space-separated BCP 47 tags)
    that has a catalogue, else the best of ``Accept-Language``, else English."""
    langs = available()
    preferred = (ui_locales or "").split()[:MAX_RANGES] + accept_language(accept)
    wanted = [tag for tag in preferred if tag != "*"]
    # "de-AT" matches "de" when no "de-AT" catalogue exists (negotiate_locale's rule)
    chosen = negotiate_locale(wanted, langs, sep="-", aliases={}) if wanted else None
    by_case = {lang.lower(): lang for lang in langs}
    return by_case.get((chosen or DEFAULT).lower(), DEFAULT)


@functools.cache
def translations(lang: str) -> NullTranslations:
    """The compiled catalogue of ``lang`` (English: the messages themselves)."""
    if lang == DEFAULT or lang not in available():
        return NullTranslations()
    source = resources.files(__package__).joinpath(
        "locale", lang, "LC_MESSAGES", f"{DOMAIN}.po")
    with source.open("rb") as handle:
        catalog = read_po(handle, locale=lang, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def gettext(lang: str, message: str) -> str:
    return translations(lang).gettext(message)


def N_(message: str) -> str:
    """Marks ``message`` for the catalogue (``pybabel extract -k N_``); the page translates
    it when it shows it."""
    return message
