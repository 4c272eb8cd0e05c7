"""The bridge speaks its reader's language: gettext catalogs, kept as .po files in the repository and
extracted with Babel (`make catalogs`), English as the source and Russian translated.

Who reads decides: a person's Mattermost locale (or the Apps call's), the channel's setting for a post a
whole channel reads, DEFAULT_LOCALE otherwise. The adapters set it around each piece of work with
`speaking()`; the core calls `_()` where a text is made, and `N_()` marks a text kept for later.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from babel.messages.pofile import read_po
from babel.numbers import format_decimal

SUPPORTED = ("en", "ru")
SOURCE = "en"
LOCALE_DIR = Path(__file__).resolve().parents[1] / "locale"
_current: contextvars.ContextVar[str] = contextvars.ContextVar("locale", default=SOURCE)


def locale_of(raw: str | None, fallback: str = SOURCE) -> str:
    """`ru`, `ru-RU`, `ru_RU` -> `ru`; anything the bridge does not speak -> the fallback."""
    language = (raw or "").replace("-", "_").split("_", 1)[0].strip().lower()
    return language if language in SUPPORTED else fallback


@contextmanager
def speaking(locale: str) -> Iterator[None]:
    token = _current.set(locale_of(locale))
    try:
        yield
    finally:
        _current.reset(token)


def adopt(locale: str) -> None:
    """From here on in this context (one request, inside a `speaking` block), speak `locale`."""
    _current.set(locale_of(locale))


def current() -> str:
    return _current.get()


@functools.cache
def catalog(locale: str) -> dict[str, str]:
    """msgid -> translation, for the translated messages that are not fuzzy."""
    path = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    if locale == SOURCE or not path.is_file():
        return {}
    with path.open("rb") as stream:
        parsed = read_po(stream, locale=locale)
    return {str(m.id): str(m.string) for m in parsed if m.id and m.string and not m.fuzzy}


def _(message: str, /, **values: object) -> str:
    """The message in the reader's language, with `{name}` placeholders filled."""
    text = catalog(current()).get(message, message)
    return text.format(**values) if values else text


def N_(message: str, /) -> str:
    return message


def number(value: float) -> str:
    """A number as the reader writes it: 1.5 in English, 1,5 in Russian."""
    return str(format_decimal(value, locale=current()))
