"""The emulator's own contract: it answers in the fixtures' shapes and rejects what the spec rejects,
so a bridge request that passes here is one the official spec allows."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from tests.mattermost_payloads import fixture


def bot(emulator: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {emulator.bot_token}"}


def test_a_request_the_spec_rejects_is_refused_and_recorded(emulator: Any) -> None:
    response = requests.post(
        f"{emulator.url}/api/v4/posts", json={"message": "no channel"}, headers=bot(emulator), timeout=5
    )
    assert response.status_code == 400
    assert len(emulator.spec_errors) == 1 and "channel_id" in emulator.spec_errors[0]
    emulator.spec_errors.clear()


def test_an_unknown_path_is_refused(emulator: Any) -> None:
    response = requests.get(f"{emulator.url}/api/v4/not/a/route", headers=bot(emulator), timeout=5)
    assert response.status_code == 400 and "PathNotFound" in emulator.spec_errors[0]
    emulator.spec_errors.clear()


def test_the_fixture_request_bodies_pass_the_spec(emulator: Any) -> None:
    channel = next(c for c in emulator.channels.values() if c["name"] == "town-square")
    post = fixture("rest_create_post_request.json") | {"channel_id": channel["id"]}
    assert requests.post(f"{emulator.url}/api/v4/posts", json=post, headers=bot(emulator), timeout=5).status_code == 201
    patch = fixture("rest_patch_post_request.json")
    created = emulator.post_as("alice", channel["id"], "hello #t1")
    assert (
        requests.put(
            f"{emulator.url}/api/v4/posts/{created['id']}/patch", json=patch, headers=bot(emulator), timeout=5
        ).status_code
        == 200
    )
    assert emulator.spec_errors == []


def test_posted_events_have_the_fixture_shape(emulator: Any) -> None:
    from websockets.sync.client import connect

    channel = next(c for c in emulator.channels.values() if c["name"] == "town-square")
    with connect(emulator.websocket_url, open_timeout=5) as ws:
        ws.send(json.dumps({"seq": 1, "action": "authentication_challenge", "data": {"token": emulator.bot_token}}))
        # websocket_router.go: HubRegister queues the hello (web_hub.go, reuseCount 0), then the OK is sent.
        hello = json.loads(ws.recv(timeout=5))
        assert set(hello) == set(fixture("ws_hello.json")) and hello["seq"] == 0
        assert json.loads(ws.recv(timeout=5)) == fixture("ws_auth_ok.json")
        emulator.post_as("alice", channel["id"], "look at #t1")
        event = json.loads(ws.recv(timeout=5))
    expected = fixture("ws_posted_channel.json")
    assert set(event) == set(expected) and set(event["data"]) == set(expected["data"])
    assert set(json.loads(event["data"]["post"])) == set(json.loads(expected["data"]["post"]))
    assert event["seq"] == 1 and event["data"]["sender_name"] == "@alice"


def test_a_wrong_websocket_token_closes_the_socket_unanswered(emulator: Any) -> None:
    """platform/websocket_router.go: a challenge with a bad token gets no reply; the socket closes."""
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    with connect(emulator.websocket_url, open_timeout=5) as ws:
        ws.send(json.dumps({"seq": 1, "action": "authentication_challenge", "data": {"token": "wrong"}}))
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)


def test_a_token_on_the_upgrade_gets_hello_at_once(emulator: Any) -> None:
    from websockets.sync.client import connect

    headers = {"Authorization": f"Bearer {emulator.bot_token}"}
    with connect(emulator.websocket_url, open_timeout=5, additional_headers=headers) as ws:
        assert json.loads(ws.recv(timeout=5))["event"] == "hello"
