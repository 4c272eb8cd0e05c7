"""The classic surface: a custom slash command, interactive dialogs and message buttons.

It works on Mattermost 7 to 11, on every client, with no plugin. The slash endpoint
answers within 3 s; slower work finishes in the background and answers through
`response_url` (or a DM when that is not Mattermost's own).
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any, Literal

import requests
from flask import Blueprint, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from app_integration.adapters.mattermost.commands.form_rendering import dialog, signed_buttons, submitted_value
from app_integration.adapters.mattermost.commands.request_verification import (
    EXPIRED_BUTTON,
    EXPIRED_DIALOG,
    Expired,
    check_slash_token,
)
from app_integration.adapters.mattermost.commands.web_context import WebContext
from app_integration.adapters.request_parsing import MalformedRequest, json_object, member, text
from app_integration.core.dispatch import Command
from app_integration.core.errors import BridgeError, InputError, Unauthorized
from app_integration.core.i18n import N_, _, speaking
from app_integration.core.models import Action, ChatMessage, CommandContext, Reply, is_chat_id

log = logging.getLogger("app_integration.web.classic")
WORKING = N_("Working on it… I will answer here in a moment.")
FAILED = N_("Something went wrong on the bridge; the operator can find it in the logs. Nothing was lost.")
# Mattermost's trigger id for a dialog expires within seconds, so a form that came late cannot open.
FORM_TOO_LATE = N_("Redmine answered too slowly for the form to open in time. Please run the command again.")
STILL_WORKING = N_("Redmine is slow: still working on it. The result comes by direct message when it is done.")
# Every slash command and button is answered within this many seconds: the result if it is ready, else "working
# on it" and the result later (a person waiting on a silent command types it again).
ANSWER_WITHIN = 2.0
# Mattermost gives a dialog submission ServiceSettings.OutgoingIntegrationRequestsTimeout (30 s by default) to
# answer; past it the person sees an error whatever happens next. A margin stays for the trip.
SUBMIT_DEADLINE = 25.0
UNVERIFIED = N_("This request could not be verified.")

MALFORMED = N_("This request is not one Mattermost sends.")
# Each endpoint answers in the shape Mattermost reads from it: a slash command's response, a dialog's
# errors, or a button's ephemeral_text (a button's answer in any other shape is dropped unseen).
Shape = Literal["slash", "dialog", "action"]


def classic_blueprint(web: WebContext) -> Blueprint:
    blueprint = Blueprint("classic", __name__)

    @blueprint.post("/slash")
    def slash() -> Any:
        return _boundary(lambda: _slash(web), "slash", web.settings.default_locale)

    @blueprint.post("/dialog")
    def dialog_submission() -> Any:
        return _boundary(lambda: _dialog(web), "dialog", web.settings.default_locale)

    @blueprint.post("/actions")
    def actions() -> Any:
        return _boundary(lambda: _action(web), "action", web.settings.default_locale)

    return blueprint


def _boundary(handler: Any, shape: Shape, locale: str) -> Any:
    """The classic surface's one error boundary: no traceback ever reaches a person. Until the caller is
    known, the bridge speaks the default language; then theirs (see WebContext.identify)."""
    with speaking(locale):
        return _guarded(handler, shape)


def _guarded(handler: Any, shape: Shape) -> Any:
    try:
        return handler()
    except MalformedRequest as error:
        log.warning("refused a malformed request: %s", error.description)
        return jsonify(_answer(shape, _(MALFORMED))), 200 if shape == "action" else 400
    except HTTPException:
        raise  # 413 and friends keep their status
    except Expired as error:
        # Mattermost shows a button's or a dialog's answer only with a 200: the person is told what to do.
        log.info("refused an expired request: %s", error)
        expired = EXPIRED_DIALOG if shape == "dialog" else EXPIRED_BUTTON
        return jsonify(_answer(shape, _(expired))), 200 if shape in ("dialog", "action") else 401
    except Unauthorized as error:
        log.warning("refused an unverified request: %s", error)
        return jsonify(_answer(shape, _(UNVERIFIED))), _status(shape)
    except InputError as error:
        if shape == "dialog" and error.field_errors:
            return jsonify({"errors": error.field_errors})
        return jsonify(_answer(shape, error.user_message))
    except BridgeError as error:
        return jsonify(_answer(shape, error.user_message))
    except Exception:
        log.exception("unexpected error in the classic surface")
        return jsonify(_answer(shape, _(FAILED)))


def _status(shape: Shape) -> int:
    """A refusal's status: 200 for a button, whose answer Mattermost reads on 200 only (the web app just logs
    anything else); 401 elsewhere."""
    return 200 if shape == "action" else 401


def _answer(shape: Shape, message: str) -> dict[str, Any]:
    if shape == "dialog":
        return {"error": message}
    if shape == "action":
        return _button_answer(message)
    return _ephemeral(message)


# Mattermost rewrites Slack-style markup (<url|label>, &amp; …) in integration answers unless told not to;
# the bridge writes Markdown, with Redmine text already made inert, so nothing is left for that to change.
def _ephemeral(text: str, **extra: Any) -> dict[str, Any]:
    return {"response_type": "ephemeral", "text": text, "skip_slack_parsing": True, **extra}


def _button_answer(text: str) -> dict[str, Any]:
    return {"ephemeral_text": text, "skip_slack_parsing": True}


def _channel(value: str) -> str:
    if value and not is_chat_id(value):
        raise MalformedRequest("channel_id is not a Mattermost id")
    return value


def _slash(web: WebContext) -> Any:
    form = request.form
    check_slash_token(request.headers.get("Authorization"), form.get("token"), web.settings.slash_tokens)
    command, argument = web.registry.split(form.get("text", ""))
    command = command or web.registry.find("app_info")
    assert command is not None
    context = CommandContext(
        user=web.identify(form.get("user_id", "")),
        channel_id=_channel(form.get("channel_id", "")),
        surface="slash",
        argument=argument,
    )
    trigger = Trigger(form.get("trigger_id", ""), time.monotonic() + web.dialog_deadline())
    future = web.submit(lambda: web.run(command, context))
    try:
        reply = web.result(future, trigger.answer_within())
    except FutureTimeout:
        late = Late(web, command, context, form.get("response_url", ""), trigger)
        future.add_done_callback(late.answer)
        return jsonify(_ephemeral(_(WORKING)))
    return jsonify(_render(web, command, context, reply, trigger.trigger_id))


def _render(web: WebContext, command: Command, context: CommandContext, reply: Reply, trigger_id: str) -> Any:
    if reply.form is not None:
        state = web.signer.sign(
            "dialog",
            {
                "cmd": reply.form.command,
                "key": reply.form.idempotency_key,
                "uid": context.user.id,
                "cid": context.channel_id,
                "arg": reply.form.argument,
            },
        )
        web.chat.open_dialog(trigger_id, f"{web.root_url}/dialog", dialog(reply.form, state, web.icon_url))
        return {}
    if command.name == "app_info":
        quick = tuple(
            Action(_(c.label), c.name)
            for c in web.registry
            if c.name != "app_info" and not c.usage.startswith("<")  # a button cannot give a required argument
        )
        return _ephemeral(reply.text, attachments=[_buttons(web, context, quick, _("Quick actions:"))])
    if reply.actions:
        return _ephemeral(reply.text, attachments=[_buttons(web, context, reply.actions, "")])
    return _ephemeral(reply.text)


def _buttons(
    web: WebContext, context: CommandContext, actions: tuple[Action, ...], title: str, post_id: str = ""
) -> dict[str, Any]:
    return signed_buttons(web.signer, web.root_url, context.user.id, context.channel_id, actions, title, post_id)


@dataclass(frozen=True)
class Trigger:
    """A request's trigger_id and until when a dialog may still open from it."""

    trigger_id: str
    usable_until: float  # time.monotonic()

    def answer_within(self) -> float:
        """How long the request waits for its result before it answers "working on it"."""
        return max(0.0, min(ANSWER_WITHIN, self.usable_until - time.monotonic()))

    def usable(self) -> bool:
        return bool(self.trigger_id) and time.monotonic() < self.usable_until


NO_TRIGGER = Trigger("", 0.0)


@dataclass(frozen=True)
class Late:
    """The answer to a request that said "working on it": when the work ends, a form opens while its trigger
    lives, and any other result goes through response_url, else by DM."""

    web: WebContext
    command: Command
    context: CommandContext
    response_url: str = ""
    trigger: Trigger = NO_TRIGGER

    def answer(self, done: Any) -> None:
        with speaking(self.context.user.locale):
            _answer_late(self, done)


def _answer_late(late: Late, done: Any) -> None:
    web, context, response_url = late.web, late.context, late.response_url
    try:
        reply: Reply = done.result()
        text = reply.text
        if reply.form is not None:
            if late.trigger.usable():
                try:
                    _render(web, late.command, context, reply, late.trigger.trigger_id)
                    return
                except BridgeError:
                    log.warning("a late form did not open")
            text = _(FORM_TOO_LATE)
            payload = _ephemeral(text)
        else:
            payload = _render(web, late.command, context, reply, "")  # with its buttons, where it has any
    except BridgeError as error:
        text = error.user_message
        payload = _ephemeral(text)
    except Exception:
        log.exception("unexpected error in a background command")
        text = _(FAILED)
        payload = _ephemeral(text)
    if response_url and web.chat.is_own_hook(response_url):
        try:
            # A hook needs no token, and gets none: a plain session, not the bot's client.
            answered = requests.post(response_url, json=payload, timeout=(3, 10), allow_redirects=False)
            if answered.status_code < 300:
                return
            log.warning("response_url answered %d; answering by DM", answered.status_code)
        except requests.RequestException:
            log.warning("response_url failed; answering by DM")
    try:
        web.chat.send_direct(context.user.id, ChatMessage(text=text))
    except BridgeError:
        log.warning("could not deliver a late answer to %s", context.user.username)


def _dialog(web: WebContext) -> Any:
    body = json_object(request.get_data())
    user_id = text(body, "user_id")
    state = web.signer.verify("dialog", text(body, "state"), user_id, _channel(text(body, "channel_id")))
    if body.get("cancelled"):
        return Response(status=200)
    command = web.registry.find(str(state.get("cmd", "")))
    if command is None or command.submit is None or command.name != body.get("callback_id"):
        raise Unauthorized("dialog state names another command")
    values = {str(k): submitted_value(v) for k, v in member(body, "submission").items()}
    context = CommandContext(
        user=web.identify(user_id),
        channel_id=_channel(text(body, "channel_id")),
        surface="slash",
        argument=str(state.get("arg", "")),
        values=values,
        idempotency_key=str(state.get("key", "")) or None,
        signed=True,
    )
    future = web.submit(lambda: web.run(command, context, submitting=True))
    try:
        reply = future.result(timeout=SUBMIT_DEADLINE)
    except FutureTimeout:
        # Mattermost waits for a submission no longer than its integration timeout (30 s by default): the
        # dialog closes now, and the result comes by DM, exactly as Redmine holds it, when the work ends.
        web.tell(context, _(STILL_WORKING))
        future.add_done_callback(Late(web, command, context).answer)
        return Response(status=200)
    if reply.form is not None:
        # The next step of a form. A dialog cannot open another without a trigger id, which a submission does
        # not carry, so the person gets a button that opens it (a click carries one), on every server.
        label = _("Continue: {title}", title=reply.form.title)
        step = Action(label, reply.form.command, reply.form.argument, "primary")
        web.offer(context, reply.form.introduction or reply.form.title, (step,))
        return Response(status=200)
    if reply.text:
        web.tell(context, reply.text)
    return Response(status=200)


def _action(web: WebContext) -> Any:
    body = json_object(request.get_data())
    user_id = text(body, "user_id")
    channel_id = _channel(text(body, "channel_id"))
    post_id = str(body.get("post_id") or "")
    signed = web.signer.verify("button", text(member(body, "context"), "sig"), user_id, channel_id, post_id)
    command = web.registry.find(str(signed.get("cmd", "")))
    if command is None:
        raise Unauthorized("button names no command")
    context = CommandContext(
        user=web.identify(user_id),
        channel_id=channel_id,
        surface="slash",
        argument=str(signed.get("arg", "")),
        signed=True,
    )
    # A form from a button has the same deadline as one from the slash command: its trigger_id expires.
    trigger = Trigger(str(body.get("trigger_id") or ""), time.monotonic() + web.dialog_deadline())
    future = web.submit(lambda: web.run(command, context))
    try:
        reply = web.result(future, trigger.answer_within())
    except FutureTimeout:
        future.add_done_callback(Late(web, command, context, trigger=trigger).answer)
        return jsonify(_button_answer(_(WORKING)))
    if reply.form is not None:
        _render(web, command, context, reply, trigger.trigger_id)
        return jsonify({})
    if reply.actions or command.hidden:
        # A step of a flow (connect: preview, confirm, cancel) replaces the post its button was on, so a
        # prompt's buttons go once they are used. `update` needs no permission, ephemeral posts included.
        # The post is known now: the new buttons are bound to it as well.
        attachments = [_buttons(web, context, reply.actions, "", post_id)] if reply.actions else []
        return jsonify(
            {"update": {"message": reply.text, "props": {"attachments": attachments}}, "skip_slack_parsing": True}
        )
    return jsonify(_button_answer(reply.text))
