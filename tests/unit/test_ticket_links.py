"""The linking policy over fake ports: modes, the 403 fallback, a changed post, hidden refs."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import pytest

from app_integration.core.errors import NotMapped, PermissionDenied
from app_integration.core.models import ChatMessage, ChatPost, ChatUser, OutsiderView
from app_integration.core.posts.ticket_links import TicketLinker
from tests.unit.fakes import FakeOutsiders, FakeTracker, make_issue, services

ALICE = ChatUser("id-alice", "alice")


@dataclass
class RecordingChat:
    current: str | None = None
    may_patch: bool = True
    patches: list[tuple[str, str]] = field(default_factory=list)
    posts: list[tuple[str, str, str]] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)

    def user(self, user_id: str) -> ChatUser | None:
        return None

    def user_by_username(self, username: str) -> ChatUser | None:
        return None

    def send_direct(self, user_id: str, message: ChatMessage) -> None:
        pass

    def post(self, channel_id: str, message: ChatMessage, root_id: str = "", once: str = "") -> None:
        self.posts.append((channel_id, message.text, root_id))

    def post_ephemeral(self, user_id: str, channel_id: str, text: str) -> None:
        self.notices.append(text)

    def patch_post(self, post_id: str, message: str) -> None:
        if not self.may_patch:
            raise PermissionDenied("no")
        self.patches.append((post_id, message))

    def post_message(self, post_id: str) -> str | None:
        return self.current


class VisibleTracker(FakeTracker):
    def issues_by_ids(self, login: str, ids: object) -> list:  # type: ignore[override]
        return [make_issue(1, "Public"), make_issue(2, "Private one")]


def linker(chat: RecordingChat, mode: str = "rewrite", subject: bool = False) -> TicketLinker:
    svc = services(VisibleTracker())
    svc.chat = chat
    return TicketLinker(svc, mode, subject)  # type: ignore[arg-type]


def post(text: str, kind: str = "O") -> ChatPost:
    return ChatPost("p1", ALICE, "c1", kind, text)


def test_rewrite_patches_once_and_notices_hidden_refs() -> None:
    chat = RecordingChat(current="see #t1 #t2 #t3")
    outcome = linker(chat).link(post("see #t1 #t2 #t3"))
    assert outcome is not None and outcome.action == "patched" and outcome.hidden == (3,)
    assert chat.patches == [("p1", "see [#t1](http://redmine.test/issues/1) [#t2](http://redmine.test/issues/2) #t3")]
    assert chat.notices == ["#t3: not found in Redmine, or you cannot see it."]


def test_a_post_changed_after_it_was_read_is_not_patched() -> None:
    chat = RecordingChat(current="edited meanwhile #t1")
    outcome = linker(chat).link(post("see #t1"))
    assert outcome is not None and outcome.action.startswith("skipped") and chat.patches == []


def test_no_permission_falls_back_to_a_thread_reply_and_logs_once(caplog: pytest.LogCaptureFixture) -> None:
    chat = RecordingChat(current="see #t1", may_patch=False)
    one = linker(chat)
    caplog.set_level(logging.WARNING)
    for _ in range(3):
        assert one.link(post("see #t1")).action == "replied"  # type: ignore[union-attr]
    assert chat.posts[0] == ("c1", "[#t1](http://redmine.test/issues/1)", "p1")
    assert len([r for r in caplog.records if "edit others" in r.getMessage()]) == 1


def test_reply_mode_replies_in_the_thread_of_a_reply() -> None:
    chat = RecordingChat()
    threaded = ChatPost("p2", ALICE, "c1", "O", "fixed in #t1", root_id="root")
    assert linker(chat, "reply").link(threaded).action == "replied"  # type: ignore[union-attr]
    assert chat.posts == [("c1", "[#t1](http://redmine.test/issues/1)", "root")] and chat.patches == []


def test_subjects_only_for_issues_that_are_not_private() -> None:
    chat = RecordingChat(current="#t1 #t2")

    class Mixed(VisibleTracker):
        def issues_by_ids(self, login: str, ids: object) -> list:  # type: ignore[override]
            private = make_issue(2, "Secret plan")
            return [make_issue(1, "Public"), type(private)(**{**private.__dict__, "is_private": True})]

    svc = services(Mixed())
    svc.chat = chat
    TicketLinker(svc, "rewrite", True).link(post("#t1 #t2"))
    assert "[#t1 Public](" in chat.patches[0][1] and "Secret plan" not in chat.patches[0][1]


def test_no_subject_where_redmines_outsiders_may_not_view_the_projects_issues() -> None:
    """A public project whose Non member role may not view issues is not "everyone": the subject stays out."""
    chat = RecordingChat(current="#t1")
    svc = services(VisibleTracker())
    svc.chat = chat
    svc.outsiders = FakeOutsiders({1: OutsiderView(True, "", "default", anonymous_allowed=True)})
    TicketLinker(svc, "rewrite", True).link(post("#t1"))
    assert chat.patches[0][1] == "[#t1](http://redmine.test/issues/1)"


def test_off_and_no_refs_do_nothing() -> None:
    chat = RecordingChat(current="x")
    assert linker(chat, "off").link(post("#t1")) is None
    assert linker(chat).link(post("`#t1` only in code")) is None
    assert chat.patches == chat.posts == []


def test_an_unmapped_author_is_refused() -> None:
    with pytest.raises(NotMapped):
        linker(RecordingChat()).link(ChatPost("p", ChatUser("id-erin", "erin"), "c", "O", "#t1"))


class ManyTracker(FakeTracker):
    def issues_by_ids(self, login: str, ids: object) -> list:  # type: ignore[override]
        return [make_issue(n, f"Ticket {n}") for n in (5, 4, 3, 2, 1)]  # Redmine's order, not the post's


def test_card_mode_cards_at_most_three_per_post_in_the_posts_order() -> None:
    chat = RecordingChat()
    svc = services(ManyTracker())
    svc.chat = chat
    cards = TicketLinker(svc, "card")
    post = ChatPost("p" * 26, ALICE, "c" * 26, "O", "#t1 #t2 #t3 #t4 and #t5")
    outcome = cards.link(post)
    assert outcome is not None and outcome.action == "carded"
    [(_channel, text, root)] = chat.posts
    lines = text.splitlines()
    assert root == post.id and [("Ticket" in line) for line in lines] == [True, True, True, False, False]
    assert lines[0].startswith("**Bug [#1](") and lines[3] == "[#t4](http://redmine.test/issues/4)"
