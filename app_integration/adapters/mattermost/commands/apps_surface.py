"""The Apps framework surface, for servers that still run the apps plugin.

It keeps the original bridge's call paths. Every call but the manifest and static
files carries a JWT that is checked before anything else happens.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path
from typing import Any

from flask import Blueprint, jsonify, request
from werkzeug.exceptions import HTTPException

from app_integration.adapters.mattermost.commands.form_rendering import (
    POST_MENU,
    apps_bindings,
    apps_form,
    submitted_value,
)
from app_integration.adapters.mattermost.commands.request_verification import EXPIRED_DIALOG, Expired, check_app_jwt
from app_integration.adapters.mattermost.commands.web_context import WebContext
from app_integration.adapters.request_parsing import MalformedRequest, json_object, member, text
from app_integration.core.dispatch import LEGACY_TRIGGER, SLASH_TRIGGER, Command
from app_integration.core.errors import BridgeError, InputError, Unauthorized
from app_integration.core.i18n import _, adopt, locale_of, speaking
from app_integration.core.models import CommandContext, Reply, is_chat_id

log = logging.getLogger("app_integration.web.apps")
JWT_HEADER = "Mattermost-App-Authorization"
# The original's first paths, kept as aliases so old installs keep working.
LEGACY_PATHS = {"create_issues": "create_tickets"}
TOP_LEVEL_GROUPS = (SLASH_TRIGGER, LEGACY_TRIGGER)


def apps_blueprint(web: WebContext, manifest_template: Path) -> Blueprint:
    blueprint = Blueprint("apps", __name__)

    @blueprint.get("/manifest.json")
    def manifest() -> Any:
        data = json.loads(manifest_template.read_text(encoding="utf-8"))
        data.setdefault("http", {})["root_url"] = web.root_url
        data["http"]["use_jwt"] = True
        return jsonify(data)

    # These three never act as a user: the apps plugin calls /ping and /install with no acting user, and
    # /bindings without expand, so their JWT and body may name nobody. Every other call must.
    @blueprint.post("/bindings")
    def bindings() -> Any:
        return _boundary(web, lambda body: {"type": "ok", "data": _localized_bindings(web, body)}, acting=False)

    @blueprint.post("/ping")
    def ping() -> Any:
        return _boundary(web, lambda body: {"type": "ok"}, acting=False)

    @blueprint.post("/install")
    def install() -> Any:
        return _boundary(
            web,
            lambda body: {"type": "ok", "text": _("Installed. Try `/integration_with_redmine app_info`.")},
            acting=False,
        )

    @blueprint.post("/<string:path>")
    def call(path: str) -> Any:
        return _boundary(web, lambda body: _call(web, path, body))

    return blueprint


def _boundary(web: WebContext, handler: Any, acting: bool = True) -> Any:
    """The Apps surface's one error boundary."""
    with speaking(web.settings.default_locale):
        return _guarded(web, handler, acting)


def _guarded(web: WebContext, handler: Any, acting: bool) -> Any:
    try:
        body = json_object(request.get_data())
        acting_id = text(member(member(body, "context"), "acting_user"), "id")
        check_app_jwt(request.headers.get(JWT_HEADER), _secret(web), acting_id, require_user=acting)
        return jsonify(handler(body))
    except MalformedRequest as error:
        log.warning("refused a malformed Apps call: %s", error.description)
        return jsonify({"type": "error", "text": _("This request is not one Mattermost sends.")}), 400
    except HTTPException:
        raise  # 413 and friends keep their status
    except Expired:
        return jsonify({"type": "error", "text": _(EXPIRED_DIALOG)})
    except Unauthorized as error:
        log.warning("refused an unverified Apps call: %s", error)
        return jsonify({"type": "error", "text": _("This request could not be verified.")}), 401
    except InputError as error:
        return jsonify({"type": "error", "text": error.user_message, "data": {"errors": error.field_errors}})
    except BridgeError as error:
        return jsonify({"type": "error", "text": error.user_message})
    except Exception:
        log.exception("unexpected error in the Apps surface")
        return jsonify({"type": "error", "text": _("Something went wrong on the bridge. Nothing was lost.")})


def _localized_bindings(web: WebContext, body: dict[str, Any]) -> list[dict[str, Any]]:
    """The bindings' descriptions in the language the call names (its context's locale), where it names one."""
    locale = text(member(body, "context"), "locale")
    if locale:
        adopt(locale)
    return apps_bindings(web.registry, web.icon_url)


def _secret(web: WebContext) -> str | None:
    secret = web.settings.app_jwt_secret
    return secret.get_secret_value() if secret else None


def _call(web: WebContext, path: str, body: dict[str, Any]) -> dict[str, Any]:
    name, submitting = (path[: -len("_submit")], True) if path.endswith("_submit") else (path, False)
    command = web.registry.find(POST_MENU.get(name) or LEGACY_PATHS.get(name, name))
    if command is None or (submitting and command.submit is None):
        return {"type": "error", "text": _("Unknown call `/{path}`.", path=path)}
    context = _context(web, body)
    if name in POST_MENU and not submitting:
        # The post the menu was opened on; the command itself asks Mattermost whether this person may read it.
        post_id = text(member(member(body, "context"), "post"), "id")
        if not is_chat_id(post_id):
            raise MalformedRequest("the post menu's call names no post")
        context = dataclasses.replace(context, argument=post_id)
    if submitting:
        # The form's state is the bridge's own, signed when the form was made: only then is a step "signed".
        state = body.get("state")
        token = text(state, "sig") if isinstance(state, dict) else None
        # Bound to its person and its channel, like every other signed state: a form opened in one channel
        # cannot be submitted into another (a channel's privacy decides what a command may put there).
        signed = web.signer.verify("apps-form", token, context.user.id, channel_id=context.channel_id)
        if signed.get("cmd") != command.name:
            raise Unauthorized("form state names another command")
        context = dataclasses.replace(
            context,
            argument=str(signed.get("arg", "")),
            idempotency_key=str(signed.get("key", "")) or None,
            signed=True,
        )
    return _render(web, command, web.run(command, context, submitting), context)


def _context(web: WebContext, body: dict[str, Any]) -> CommandContext:
    ctx = member(body, "context")
    channel_id = text(member(ctx, "channel"), "id")
    if channel_id and not is_chat_id(channel_id):
        raise MalformedRequest("channel id is not a Mattermost id")
    user = web.identify(text(member(ctx, "acting_user"), "id"))
    if text(ctx, "locale"):  # the Apps framework says which language the person uses
        user = dataclasses.replace(user, locale=locale_of(text(ctx, "locale"), user.locale))
        adopt(user.locale)
    return CommandContext(
        # The JWT vouches for the acting user's id only; the name comes from Mattermost, never from the body.
        user=user,
        channel_id=channel_id,
        surface="apps",
        argument=_argument(text(body, "raw_command")),
        values={str(k): submitted_value(v) for k, v in member(body, "values").items()},
    )


def _argument(raw_command: str) -> str:
    """What follows the command's name: `/integration_with_redmine create_tickets demo …` or a top-level
    `/create_tickets demo …`."""
    words = raw_command.split(None, 1)
    if words and words[0].lstrip("/") in TOP_LEVEL_GROUPS:
        words = words[1].split(None, 1) if len(words) > 1 else []
    return words[1] if len(words) > 1 else ""


def _render(web: WebContext, command: Command, reply: Reply, context: CommandContext) -> dict[str, Any]:
    if reply.form is not None:
        form = reply.form
        payload = {
            "cmd": form.command,
            "key": form.idempotency_key,
            "uid": context.user.id,
            "cid": context.channel_id,
            "arg": form.argument,
        }
        return {"type": "form", "form": apps_form(form, web.icon_url, web.signer.sign("apps-form", payload))}
    return {"type": "ok", "text": reply.text_without_buttons(command.name)}
