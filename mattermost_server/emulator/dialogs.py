"""What the server refuses of an interactive dialog, from model/integration_action.go."""

from __future__ import annotations

from typing import Any

# model/integration_action.go: the limits Dialog.IsValid enforces (in bytes, as Go's len counts).
DIALOG_TITLE_MAX = 24
DIALOG_LIMITS = {"display_name": 24, "name": 300, "help_text": 150}
DIALOG_TEXT_LIMITS = {"text": 150, "textarea": 3000, "select": 3000}
DIALOG_TYPES = {"text", "textarea", "select", "bool", "radio", "date", "datetime"}


def dialog_problems(dialog: dict[str, Any]) -> list[str]:
    """What model/integration_action.go's Dialog.IsValid refuses; lengths in bytes, as Go's len counts them."""

    def size(value: Any) -> int:
        return len(str(value or "").encode("utf-8"))

    problems = []
    title = dialog.get("title") or ""
    if not title or size(title) > DIALOG_TITLE_MAX:
        problems.append(f"invalid dialog title {title!r}")
    names: set[str] = set()
    for element in dialog.get("elements") or []:
        name = str(element.get("name") or "")
        if name in names:
            problems.append(f"duplicate dialog element {name!r}")
        names.add(name)
        for key, limit in DIALOG_LIMITS.items():
            if key in ("display_name", "name") and not element.get(key):
                problems.append(f"{name}: {key} cannot be empty")
            if size(element.get(key)) > limit:
                problems.append(f"{name}: {key} longer than {limit} bytes")
        kind = element.get("type")
        if kind not in DIALOG_TYPES:
            problems.append(f"{name}: invalid element type {kind!r}")
        if int(element.get("min_length") or 0) > int(element.get("max_length") or 0):
            problems.append(f"{name}: min_length above max_length")
        text_limit = DIALOG_TEXT_LIMITS.get(str(kind))
        if text_limit is not None:
            for key in ("default", "placeholder"):
                if size(element.get(key)) > text_limit:
                    problems.append(f"{name}: {key} longer than {text_limit} bytes")
        options = {o.get("value") for o in element.get("options") or []}
        if kind == "select" and not element.get("data_source") and element.get("default") not in options | {None, ""}:
            problems.append(f"{name}: default {element['default']!r} is not an option")
    return problems
