"""Every forged, stale or oversized request is refused, and no secret reaches the log."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer

from app_integration.adapters.mattermost.commands.request_verification import StateSigner
from app_integration.adapters.runtime.web_app import create_app
from app_integration.adapters.runtime.wiring import build_bridge
from app_integration.core.settings import SettingsError
from tests.conftest import JWT_SECRET, SIGNING_KEY, SLASH_TOKEN, bridge_settings

USER = "o5s3q6kd9pgy9eyy6jwsi1xjbo"
CHANNEL = "4xp9fdt77pncbef59f4k1qe83o"
OTHER = "n1ybtjcfyjfnjbp3cpqppdz3ya"
# Nothing listens on these: a request that got past verification would fail loudly, not pass.
NOWHERE = "http://127.0.0.1:9"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[FlaskClient]:
    settings = bridge_settings(
        NOWHERE, "admin-key-secret", NOWHERE, "bot-token-secret", tmp_path, signed_state_max_age=60, max_body_bytes=4096
    )
    with create_app(settings, build_bridge(settings, None)).test_client() as client:
        yield client


def slash_body(token: str = SLASH_TOKEN) -> dict[str, str]:
    return {"user_id": USER, "user_name": "alice", "channel_id": "c", "text": "app_info", "token": token}


def apps_body(user_id: str = USER) -> dict[str, Any]:
    return {"path": "/app_info", "context": {"acting_user": {"id": user_id, "username": "alice"}}}


def bearer(claims: dict[str, Any], key: str = JWT_SECRET, algorithm: str = "HS256") -> dict[str, str]:
    return {"Mattermost-App-Authorization": "Bearer " + jwt.encode(claims, key, algorithm=algorithm)}


def signed(payload: dict[str, Any], age: int = 0, key: str = SIGNING_KEY, purpose: str = "dialog") -> str:
    serializer = URLSafeTimedSerializer(key, salt=f"redmine-bridge/v2/{purpose}")
    payload = {"cid": CHANNEL, **payload}
    if age:
        serializer.signer_kwargs = {}
        signer = serializer.make_signer()
        original = signer.get_timestamp
        signer.get_timestamp = lambda: original() - age  # type: ignore[method-assign]
        return str(signer.sign(serializer.dump_payload(payload)).decode())
    return str(serializer.dumps(payload))


def dialog(state: str, user_id: str = USER) -> dict[str, Any]:
    return {
        "type": "dialog_submission",
        "callback_id": "create_tickets",
        "state": state,
        "user_id": user_id,
        "channel_id": CHANNEL,
        "submission": {"option": "demo", "message": "1. x @bob"},
        "cancelled": False,
    }


def test_wrong_slash_token(client: FlaskClient) -> None:
    assert client.post("/slash", data=slash_body("wrong")).status_code == 401
    assert client.post("/slash", data=slash_body(""), headers={"Authorization": "Token nope"}).status_code == 401


def test_slash_token_from_header_or_field(client: FlaskClient) -> None:
    body = slash_body("")
    assert client.post("/slash", data=body, headers={"Authorization": f"Token {SLASH_TOKEN}"}).status_code == 200
    assert client.post("/slash", data=slash_body()).status_code == 200


def test_forged_jwt(client: FlaskClient) -> None:
    claims = {"acting_user_id": USER, "exp": int(time.time()) + 600}
    assert client.post("/app_info", json=apps_body(), headers=bearer(claims, key="x" * 32)).status_code == 401


def test_alg_none_jwt(client: FlaskClient) -> None:
    token = jwt.encode({"acting_user_id": USER, "exp": int(time.time()) + 600}, None, algorithm="none")
    headers = {"Mattermost-App-Authorization": f"Bearer {token}"}
    assert client.post("/app_info", json=apps_body(), headers=headers).status_code == 401


def test_expired_jwt(client: FlaskClient) -> None:
    claims = {"acting_user_id": USER, "exp": int(time.time()) - 5}
    assert client.post("/app_info", json=apps_body(), headers=bearer(claims)).status_code == 401


def test_jwt_without_exp(client: FlaskClient) -> None:
    assert client.post("/app_info", json=apps_body(), headers=bearer({"acting_user_id": USER})).status_code == 401


def test_acting_user_mismatch(client: FlaskClient) -> None:
    claims = {"acting_user_id": OTHER, "exp": int(time.time()) + 600}
    assert client.post("/app_info", json=apps_body(), headers=bearer(claims)).status_code == 401


def test_missing_jwt_on_every_apps_path(client: FlaskClient) -> None:
    for path in ("/bindings", "/ping", "/install", "/app_info", "/create_tickets_submit", "/tickets_for_me"):
        assert client.post(path, json=apps_body()).status_code == 401, path
    assert client.get("/manifest.json").status_code == 200


def test_a_valid_jwt_passes(client: FlaskClient) -> None:
    claims = {"acting_user_id": USER, "exp": int(time.time()) + 600}
    assert client.post("/ping", json=apps_body(), headers=bearer(claims)).get_json() == {"type": "ok"}


def test_tampered_dialog_state(client: FlaskClient) -> None:
    state = signed({"cmd": "create_tickets", "key": "k", "uid": USER, "uname": "alice"})
    tampered = state[:-3] + ("AAA" if not state.endswith("AAA") else "BBB")
    assert client.post("/dialog", json=dialog(tampered)).status_code == 401
    forged = signed({"cmd": "create_tickets", "key": "k", "uid": USER, "uname": "alice"}, key="k" * 40)
    assert client.post("/dialog", json=dialog(forged)).status_code == 401


def test_expired_dialog_state_is_told_to_run_the_command_again(client: FlaskClient) -> None:
    """The person can fix it, so the answer is a 200 that Mattermost shows in the dialog."""
    state = signed({"cmd": "create_tickets", "key": "k", "uid": USER, "uname": "alice"}, age=7200)
    answer = client.post("/dialog", json=dialog(state))
    assert answer.status_code == 200 and "expired" in answer.get_json()["error"]


def test_a_token_made_for_one_purpose_opens_no_other(client: FlaskClient) -> None:
    """A button's signature was once accepted as a dialog's state: three submits made three batches."""
    payload = {"cmd": "create_tickets", "key": "k", "uid": USER}
    for purpose in ("button", "apps-form"):
        assert client.post("/dialog", json=dialog(signed(payload, purpose=purpose))).status_code == 401
    click = {"user_id": USER, "channel_id": CHANNEL, "context": {"sig": signed(payload)}}  # a dialog's, as a button
    answer = client.post("/actions", json=click)
    assert answer.status_code == 200 and "could not be verified" in answer.get_json()["ephemeral_text"]


def test_a_dialog_state_replayed_into_another_channel_is_refused(client: FlaskClient) -> None:
    state = signed({"cmd": "create_tickets", "key": "k", "uid": USER})
    body = {**dialog(state), "channel_id": OTHER}
    assert client.post("/dialog", json=body).status_code == 401


def test_every_button_refusal_answers_200_with_text(client: FlaskClient) -> None:
    """Mattermost reads a button's answer only on HTTP 200; the web app only logs anything else."""
    payload = {"cmd": "subscriptions", "uid": USER, "arg": ""}
    cases = {
        "expired": {
            "user_id": USER,
            "channel_id": CHANNEL,
            "context": {"sig": signed(payload, 7200, purpose="button")},
        },
        "another channel": {
            "user_id": USER,
            "channel_id": OTHER,
            "context": {"sig": signed(payload, purpose="button")},
        },
        "another user": {
            "user_id": OTHER,
            "channel_id": CHANNEL,
            "context": {"sig": signed(payload, purpose="button")},
        },
        "unsigned": {"user_id": USER, "channel_id": CHANNEL, "context": {"action": "subscriptions"}},
        "malformed": {"user_id": "me", "channel_id": "../teams", "context": {}},
    }
    for name, body in cases.items():
        answer = client.post("/actions", json=body)
        assert answer.status_code == 200, name
        assert answer.get_json()["ephemeral_text"], name
    assert "expired" in client.post("/actions", json=cases["expired"]).get_json()["ephemeral_text"]


def test_dialog_state_of_another_user(client: FlaskClient) -> None:
    state = signed({"cmd": "create_tickets", "key": "k", "uid": OTHER, "uname": "bob"})
    assert client.post("/dialog", json=dialog(state, user_id=USER)).status_code == 401


def test_dialog_state_for_another_command(client: FlaskClient) -> None:
    state = signed({"cmd": "create_ticket_by_form", "key": "k", "uid": USER, "uname": "alice"})
    assert client.post("/dialog", json=dialog(state)).status_code == 401


def test_button_context_without_a_signature(client: FlaskClient) -> None:
    body = {"user_id": USER, "channel_id": CHANNEL, "context": {"action": "tickets_for_me"}}
    answer = client.post("/actions", json=body)
    assert answer.status_code == 200 and "could not be verified" in answer.get_json()["ephemeral_text"]


def test_oversized_body(client: FlaskClient) -> None:
    body = {"text": "x" * 10_000, "token": SLASH_TOKEN}
    assert client.post("/slash", data=body).status_code == 413
    assert client.post("/app_info", json={"pad": "x" * 10_000}).status_code == 413


def test_the_app_refuses_to_start_without_verification(tmp_path: Path) -> None:
    settings = bridge_settings(NOWHERE, "k", NOWHERE, "t", tmp_path, mattermost_slash_tokens=None, app_jwt_secret=None)
    with pytest.raises(SettingsError, match="MATTERMOST_SLASH_TOKENS or APP_JWT_SECRET"):
        create_app(settings)
    with pytest.raises(SettingsError, match="REQUEST_SIGNING_KEY"):
        create_app(bridge_settings(NOWHERE, "k", NOWHERE, "t", tmp_path, request_signing_key=None))


def test_signer_round_trip() -> None:
    signer = StateSigner(SIGNING_KEY, 60)
    token = signer.sign("button", {"uid": USER, "cid": CHANNEL, "x": 1})
    assert signer.verify("button", token, USER, CHANNEL)["x"] == 1


def test_no_secret_is_ever_logged(client: FlaskClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    good = {"acting_user_id": USER, "exp": int(time.time()) + 600}
    jwt_headers = bearer(good)
    client.post("/slash", data=slash_body("wrong-token-value"))
    client.post("/slash", data=slash_body())
    client.post("/app_info", json=apps_body(), headers=jwt_headers)
    client.post("/app_info", json=apps_body(), headers=bearer(good, key="f" * 32))
    client.post("/dialog", json=dialog(signed({"uid": USER, "cmd": "create_tickets", "key": "k"}) + "x"))
    logged = caplog.text
    assert "refused" in logged  # the refusals were logged, without their secrets
    for secret in (
        SLASH_TOKEN,
        "wrong-token-value",
        JWT_SECRET,
        SIGNING_KEY,
        "admin-key-secret",
        "bot-token-secret",
        jwt_headers["Mattermost-App-Authorization"].split()[1],
    ):
        assert secret not in logged
