"""Turns the core's forms and registry into Mattermost's shapes: interactive dialogs,
Apps forms and Apps bindings. One source, two surfaces."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from app_integration.adapters.mattermost.commands.request_verification import StateSigner
from app_integration.core.dispatch import LEGACY_TRIGGER, SLASH_TRIGGER, CommandRegistry
from app_integration.core.i18n import _
from app_integration.core.models import Action, Form, FormField

APPS_EXPAND = {"app": "all", "acting_user": "all", "channel": "all", "team": "all", "locale": "all"}
# model/integration_action.go: limits in bytes, as Go's len counts them.
DIALOG_TEXT_LIMIT = 150
DIALOG_LABEL_LIMIT = 24
DIALOG_HELP_LIMIT = 150


def fit_bytes(text: str, limit: int) -> str:
    """At most `limit` bytes of UTF-8, cut on a character boundary (a Cyrillic letter is two bytes)."""
    return text.encode("utf-8")[:limit].decode("utf-8", errors="ignore")


def dialog_element(field: FormField) -> dict[str, Any]:
    element: dict[str, Any] = {
        "display_name": fit_bytes(field.label, DIALOG_LABEL_LIMIT),
        "name": field.name,
        "optional": not field.required,
    }
    if field.kind == "select":
        element.update(type="select", options=[{"text": o.label, "value": o.value} for o in field.options])
    elif field.kind == "user":
        element.update(type="select", data_source="users")
    elif field.kind == "bool":
        element.update(type="bool")
    else:
        element.update(type=field.kind, max_length=field.max_length or DIALOG_TEXT_LIMIT)
        if field.secret:
            element["subtype"] = "password"
        if field.kind == "text":
            element["max_length"] = min(element["max_length"], DIALOG_TEXT_LIMIT)
    if field.default is not None:
        # model/integration_action.go: a default holds 150 bytes in a text field, 3000 in a textarea
        limit = {"text": DIALOG_TEXT_LIMIT, "textarea": 3000}.get(field.kind)
        element["default"] = fit_bytes(field.default, limit) if limit else field.default
    if field.hint and field.kind in ("text", "textarea"):
        element["placeholder"] = fit_bytes(field.hint, DIALOG_TEXT_LIMIT if field.kind == "text" else 3000)
    help_text = field.help or (field.hint if field.kind not in ("text", "textarea") else "")
    if help_text:
        element["help_text"] = fit_bytes(help_text, DIALOG_HELP_LIMIT)
    return element


def dialog(form: Form, state: str, icon_url: str) -> dict[str, Any]:
    return {
        "callback_id": form.command,
        "title": fit_bytes(form.title, DIALOG_LABEL_LIMIT),
        "introduction_text": form.introduction,
        "icon_url": icon_url,
        "elements": [dialog_element(f) for f in form.fields],
        "submit_label": form.submit_label or _("Submit"),
        "notify_on_cancel": False,
        "state": state,
    }


def apps_field(field: FormField) -> dict[str, Any]:
    result: dict[str, Any] = {
        "name": field.name,
        "label": field.name,
        "modal_label": field.label,
        "is_required": field.required,
    }
    if field.kind == "select":
        options = [{"label": o.label, "value": o.value} for o in field.options]
        result.update(type="static_select", options=options)
        default = next((o for o in options if o["value"] == field.default), None)
        if default:
            result["value"] = default
    elif field.kind == "user":
        result["type"] = "user"
    elif field.kind == "bool":
        result.update(type="bool", value=field.default == "true")
    else:
        result["type"] = "text"
        if field.kind == "textarea":
            result["subtype"] = "textarea"
        elif field.secret:
            result["subtype"] = "password"
        if field.default is not None:
            result["value"] = field.default
        if field.max_length:
            result["max_length"] = field.max_length
    if field.hint:
        result["hint"] = field.hint
    if field.help:
        result["description"] = field.help
    return result


def apps_form(form: Form, icon_url: str, signed_state: str) -> dict[str, Any]:
    """`signed_state` carries the form's command, key, person and argument, signed: what comes back with the
    submit is believed only through it."""
    return {
        "title": form.title,
        "header": form.introduction,
        "icon": icon_url,
        "submit": {"path": f"/{form.command}_submit", "expand": APPS_EXPAND, "state": {"sig": signed_state}},
        "fields": [apps_field(f) for f in form.fields],
    }


def apps_bindings(registry: CommandRegistry, icon_url: str) -> list[dict[str, Any]]:
    """`/integration_with_redmine <cmd>`, the 2024 version's `/redmine <cmd>`, and the original's top-level
    commands (`/tickets_for_me` …), so nobody relearns a command after switching."""

    def binding(name: str, command: Any) -> dict[str, Any]:
        return {
            "location": name,
            "label": name,
            "description": _(command.summary),
            "icon": icon_url,
            "submit": {"path": f"/{command.name}", "expand": APPS_EXPAND},
        }

    commands = [binding(name, command) for command in registry for name in command.names]
    groups = [
        {
            "location": trigger,
            "label": trigger,
            "icon": icon_url,
            "description": _("Redmine from Mattermost"),
            "hint": "[command]",
            "bindings": commands,
        }
        for trigger in (SLASH_TRIGGER, LEGACY_TRIGGER)
    ]
    top_level = [binding(command.name, command) for command in registry]
    return [{"location": "/command", "bindings": groups + top_level}, post_menu(icon_url)]


# The post menu's items, and the command each opens for the post it was chosen on.
POST_MENU = {"post_create_ticket": "create_ticket_by_form", "post_attach": "attach_form"}


def post_menu(icon_url: str) -> dict[str, Any]:
    """*Create a ticket* and *Add to a ticket* on every post's menu, where the Apps framework runs."""
    labels = {"post_create_ticket": _("Create a ticket"), "post_attach": _("Add to a ticket")}
    expand = {**APPS_EXPAND, "post": "summary"}
    return {
        "location": "/post_menu",
        "bindings": [
            {"location": path, "label": label, "icon": icon_url, "submit": {"path": f"/{path}", "expand": expand}}
            for path, label in labels.items()
        ],
    }


def submitted_value(value: Any) -> str | None:
    """A submitted field as the core takes it: Apps send {label, value} for selects and users, dialogs a
    plain value; empty means unset."""
    if isinstance(value, dict):
        value = value.get("value")
    if isinstance(value, bool):
        return "true" if value else "false"
    return None if value is None or value == "" else str(value)


def action_id(command_name: str) -> str:
    """Mattermost puts action ids in a URL path: letters and digits only."""
    return "".join(ch for ch in command_name if ch.isalnum())


def signed_buttons(
    signer: StateSigner,
    root_url: str,
    user_id: str,
    channel_id: str,
    actions: Iterable[Action],
    title: str,
    post_id: str = "",
) -> dict[str, Any]:
    """Message buttons, each signed for one person in one channel, and for one post where the bridge knows it
    (a post it updates): a click by anyone else, an altered one, or one replayed into another channel or from
    another post is refused."""
    rendered = []
    for number, action in enumerate(actions):
        payload = {"cmd": action.command, "uid": user_id, "cid": channel_id, "arg": action.argument}
        if post_id:
            payload["pid"] = post_id
        signed = signer.sign("button", payload)
        rendered.append(
            {
                "id": action_id(f"{action.command}{number}"),
                "type": "button",  # PostAction.IsValid refuses an action with no type
                "name": action.label,
                "style": action.style,
                "integration": {"url": f"{root_url}/actions", "context": {"action": action.command, "sig": signed}},
            }
        )
    return {"fallback": title or "Choose", "text": title, "actions": rendered}
