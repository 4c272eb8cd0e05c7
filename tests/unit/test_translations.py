"""The catalogs: every message in the code is translated into Russian, placeholders and all, and the
bridge speaks the reader's language."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from app_integration.core import i18n
from app_integration.core.commands.help import help_text
from app_integration.core.commands.registry import build_registry
from app_integration.core.dispatch import CommandRegistry
from app_integration.core.i18n import _, locale_of, number, speaking

PACKAGE = Path(i18n.__file__).resolve().parents[1]
PLACEHOLDER = re.compile(r"\{([a-z_]+)[^{}]*\}")


def in_code() -> set[str]:
    keywords = {"_": None, "N_": None, "ngettext": (1, 2)}
    found = extract_from_dir(str(PACKAGE), method_map=[("**.py", "python")], keywords=keywords)
    # A counted message is its (singular, plural) pair, written as the catalog's reader writes it.
    return {str(tuple(m)) if isinstance(m, tuple | list) else m for _file, _line, m, _comments, _context in found}


def russian() -> dict[str, tuple[str, bool]]:
    with (PACKAGE / "locale" / "ru" / "LC_MESSAGES" / "messages.po").open("rb") as stream:
        return {_key(m.id): (str(m.string), m.fuzzy) for m in read_po(stream) if m.id}


def _key(message_id: object) -> str:
    return str(tuple(message_id)) if isinstance(message_id, tuple | list) else str(message_id)


def test_every_message_is_translated_and_no_translation_is_stale() -> None:
    code, catalog = in_code(), russian()
    untranslated = sorted(m for m in code if not catalog.get(m, ("", False))[0] or catalog[m][1])
    assert untranslated == [], "run `make catalogs` and translate these"
    assert sorted(set(catalog) - code) == [], "messages no longer in the code: run `make catalogs`"


def test_translations_keep_every_placeholder() -> None:
    for message, (translated, _fuzzy) in russian().items():
        assert set(PLACEHOLDER.findall(translated)) == set(PLACEHOLDER.findall(message)), message


def test_the_template_is_current() -> None:
    with (PACKAGE / "locale" / "messages.pot").open("rb") as stream:
        template = {_key(m.id) for m in read_po(stream) if m.id}
    assert template == in_code(), "run `make catalogs`"


def test_the_reader_decides_the_language() -> None:
    assert [locale_of(x) for x in ("ru", "ru-RU", "ru_RU", "en", "de", None, "")] == [
        "ru",
        "ru",
        "ru",
        "en",
        "en",
        "en",
        "en",
    ]
    registry: CommandRegistry = build_registry()
    english = help_text(registry, "slash")
    with speaking("ru"):
        russian_help = help_text(registry, "slash")
        assert _("Create tickets") == "Новые задачи" and number(1.5) == "1,5"
        assert _("Open all {count} in Redmine", count=7) == "Открыть все (7) в Redmine"
    assert "Мост в Redmine" in russian_help and "create_tickets" in russian_help  # command words stay
    assert "Redmine bridge" in english and _("Create tickets") == "Create tickets" and number(1.5) == "1.5"


def test_dialog_titles_and_labels_fit_mattermosts_24_bytes() -> None:
    """model/integration_action.go: a dialog's title and an element's display name hold 24 bytes, and a Russian
    letter takes two. A title with a ticket number is checked with a five-digit one."""
    source = "\n".join(p.read_text(encoding="utf-8") for p in (PACKAGE / "core").rglob("*.py"))
    labels = set(re.findall(r'title=_\("([^"]+)"', source))
    labels |= set(re.findall(r'FormField\(\s*[\w"]+,\s*_\("([^"]+)"', source))
    labels |= {"Project", "Tickets"}
    catalog = russian()
    too_long = {
        label: catalog[label][0]
        for label in labels
        if len(PLACEHOLDER.sub("12345", catalog[label][0]).encode("utf-8")) > 24 and "{what}" not in label
    }
    assert len(labels) > 20 and too_long == {}


def test_apps_bindings_speak_the_calls_language() -> None:
    from app_integration.adapters.mattermost.commands.form_rendering import apps_bindings

    with speaking("ru"):
        bindings = apps_bindings(build_registry(), "http://bridge.test/static/redmine.png")
    descriptions = str(bindings)
    assert "Открытые задачи, назначенные вам" in descriptions and "tickets_for_me" in descriptions
