"""The bridge speaks its reader's language: gettext catalogs, kept as .po files in the repository and
extracted with Babel (`make catalogs`), English as the source and Russian translated.

Who reads decides: a person's Mattermost locale (or the Apps call's), the channel's setting for a post a
whole channel reads, DEFAULT_LOCALE otherwise. The adapters set it around each piece of work with
`speaking()`; the core calls `_()` where a text is made, `ngettext()` where it counts something (Russian
has three forms: 1 задача, 2 задачи, 5 задач, chosen by the catalog's own Plural-Forms rule), and `N_()`
marks a text kept for later.
"""

from __future__ import annotations

import contextvars
import functools
import gettext
from collections.abc import Callable, Iterator
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
def _parsed(locale: str) -> tuple[dict[str, str], dict[str, tuple[str, ...]], Callable[[int], int]]:
    """A locale's translated, not fuzzy messages: singular ones, plural ones (by the singular msgid, every
    form), and the catalog's plural rule."""
    path = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    english: Callable[[int], int] = lambda n: int(n != 1)  # noqa: E731
    if locale == SOURCE or not path.is_file():
        return {}, {}, english
    with path.open("rb") as stream:
        parsed = read_po(stream, locale=locale)
    single: dict[str, str] = {}
    plural: dict[str, tuple[str, ...]] = {}
    for message in parsed:
        if not message.id or message.fuzzy:
            continue
        if isinstance(message.id, tuple | list):
            forms = tuple(str(form) for form in message.string or ())
            if all(forms):
                plural[str(message.id[0])] = forms
        elif message.string:
            single[str(message.id)] = str(message.string)
    return single, plural, gettext.c2py(parsed.plural_expr)


def catalog(locale: str) -> dict[str, str]:
    """msgid -> translation, for the translated messages that are not fuzzy."""
    return _parsed(locale)[0]


def _(message: str, /, **values: object) -> str:
    """The message in the reader's language, with `{name}` placeholders filled."""
    text = catalog(current()).get(message, message)
    return text.format(**values) if values else text


def ngettext(singular: str, plural: str, count: int, /, **values: object) -> str:
    """The form for `count` in the reader's language, with `{count}` and the other placeholders filled."""
    _single, plurals, rule = _parsed(current())
    forms = plurals.get(singular)
    english = singular if count == 1 else plural
    text = forms[min(rule(count), len(forms) - 1)] if forms else english
    return text.format(count=count, **values)


def N_(message: str, /) -> str:
    return message


def number(value: float) -> str:
    """A number as the reader writes it: 1.5 in English, 1,5 in Russian."""
    return str(format_decimal(value, locale=current()))
