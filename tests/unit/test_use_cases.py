"""The use cases over fake ports: what is said, what is created, what is never lost."""

from __future__ import annotations

import dataclasses
import threading
import time
from typing import Any

import pytest

from app_integration.core.commands.help import help_text
from app_integration.core.commands.registry import build_registry
from app_integration.core.dispatch import STILL_RUNNING, run_once
from app_integration.core.errors import BridgeError, InputError, NotMapped
from app_integration.core.formatting import POST_LIMIT
from app_integration.core.models import ChatUser, CommandContext, Issue, IssueDraft, IssuePage, Reply
from tests.unit.fakes import FakeChat, FakeTracker, MemoryStore, make_issue, services

ALICE = ChatUser("id-alice", "alice")
REGISTRY = build_registry()


def ctx(argument: str = "", surface: str = "slash", user: ChatUser = ALICE, **values: str) -> CommandContext:
    return CommandContext(user=user, channel_id="c", surface=surface, argument=argument, values=values)  # type: ignore[arg-type]


def run(name: str, svc: object, context: CommandContext) -> Reply:
    command = REGISTRY.find(name)
    assert command is not None
    return command.run(svc, context)  # type: ignore[arg-type]


def submit(name: str, svc: object, context: CommandContext) -> Reply:
    command = REGISTRY.find(name)
    assert command is not None and command.submit is not None
    return command.submit(svc, context)  # type: ignore[arg-type]


def test_help_lists_every_command_and_alias_from_the_registry() -> None:
    text = help_text(REGISTRY, "slash")
    for command in REGISTRY:
        for name in command.names:
            assert f"`{name}" in text or f" {name}" in text


def test_aliases_find_the_same_command() -> None:
    for alias, name in (
        ("help", "app_info"),
        ("new_task", "create_ticket_by_form"),
        ("new_tasks", "create_tickets"),
        ("tasks_by_me", "my_tickets"),
        ("TASKS_FOR_ME", "tickets_for_me"),
    ):
        assert REGISTRY.find(alias) is REGISTRY.find(name)


def test_an_unmapped_caller_is_refused_with_how_to() -> None:
    with pytest.raises(NotMapped, match="erin=<your Redmine login>"):
        run("tickets_for_me", services(), ctx(user=ChatUser("id-erin", "erin")))


def test_an_empty_list_says_so_and_sends_no_dm() -> None:
    chat = FakeChat()
    reply = run("tickets_for_me", services(chat=chat), ctx())
    assert reply.text.startswith("No open tickets assigned to you") and chat.dms == []


def test_lists_cap_rows_and_link_to_the_rest() -> None:
    tracker = FakeTracker(page=IssuePage(tuple(make_issue(n) for n in range(60)), 75))
    chat = FakeChat()
    reply = run("my_tickets", services(tracker, chat), ctx())
    assert "Open tickets created by you: 75." in reply.text and reply.sent_as_dm
    body = chat.dms[0][1].body
    assert body.count("\n| [#") == 50
    assert "…and 25 more" in body and "author_id=me" in body


def test_a_long_list_is_cut_to_fit_a_post() -> None:
    long = "x" * 300
    tracker = FakeTracker(page=IssuePage(tuple(make_issue(n, subject=long) for n in range(100)), 100))
    chat = FakeChat()
    svc = services(tracker, chat)
    svc.list_limit = 100
    run("tickets_for_me", svc, ctx())
    body = chat.dms[0][1].body
    assert len(body) <= POST_LIMIT
    shown = body.count("\n| [#")
    assert 40 < shown < 100 and f"…and {100 - shown} more" in body


def test_a_batch_resolves_each_assignee_once() -> None:
    tracker = FakeTracker()
    lines = "\n".join(f"{n}. Task {n} @{'bob' if n % 2 else 'carol'}" for n in range(1, 11))
    run("create_tickets", services(tracker), ctx(argument=f"demo\n{lines}"))
    assert len(tracker.created) == 10
    assert tracker.calls.count("account") == 3  # the caller, bob and carol
    assert tracker.calls.count("member_ids") == 1


def test_a_batch_failing_midway_says_what_was_and_was_not_created() -> None:
    tracker = FakeTracker(fail_on_create=3)
    chat = FakeChat()
    lines = "1. One @bob\n2. Two @carol\n3. Three @bob\n4. Four @carol"
    reply = run("create_tickets", services(tracker, chat), ctx(argument=f"demo\n{lines}"))
    assert "Redmine failed on line 3" in reply.text
    assert "Created 2 of 4" in reply.text and "#101" in reply.text and "#102" in reply.text
    assert "Not created (2):\n- line 3: Three (@bob)\n- line 4: Four (@carol)" in reply.text
    table = chat.dms[0][1].body
    assert table.startswith("| ID | Project | Tracker | Status | Subject | Updated | Due | Priority | Assignee |")
    assert table.count("\n") == 3 and "/issues/101)" in table and "/issues/102)" in table  # two rows, linked


def test_a_batch_whose_create_went_unconfirmed_never_calls_that_line_not_created() -> None:
    from app_integration.core.errors import OutcomeUnknown

    tracker = FakeTracker(fail_on_create=2, fail_with=OutcomeUnknown)
    lines = "1. One @bob\n2. Two @carol\n3. Three @bob"
    reply = run("create_tickets", services(tracker, FakeChat()), ctx(argument=f"demo\n{lines}"))
    assert "Line 2 (Two) may have been created" in reply.text
    assert "Not created (1):\n- line 3: Three (@bob)" in reply.text and "line 2: Two" not in reply.text


def test_run_once_keeps_the_key_when_the_outcome_is_unknown() -> None:
    from app_integration.core.errors import OutcomeUnknown

    store = MemoryStore()
    context = CommandContext(ALICE, "c", "slash", idempotency_key="k-unknown")

    def unconfirmed() -> Reply:
        raise OutcomeUnknown("may have been created")

    with pytest.raises(OutcomeUnknown):
        run_once(store, context, unconfirmed)
    assert run_once(store, context, lambda: Reply(text="created again")).text == "may have been created"


class SlowTracker(FakeTracker):
    """Creates take a moment; counts how many run at once; fails the line whose subject says so."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()
        self.in_flight = 0
        self.most = 0
        self.started: list[str] = []

    def create_issue(self, login: str, draft: IssueDraft, taken: Any = frozenset) -> Issue:
        with self.lock:
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
            self.started.append(draft.subject)
        try:
            time.sleep(0.05)
            if draft.subject.startswith("Fail"):
                raise BridgeError("Redmine is unavailable right now. Try again in a minute.")
            with self.lock:
                self.created.append(draft)
                return make_issue(100 + len(self.created), draft.subject, draft.assigned_to_id)
        finally:
            with self.lock:
                self.in_flight -= 1


def test_a_batch_creates_with_bounded_concurrency_and_keeps_the_lines_order() -> None:
    tracker = SlowTracker()
    lines = "\n".join(f"{n}. Task {n} @bob" for n in range(1, 13))
    reply = run("create_tickets", services(tracker, FakeChat(), concurrency=4), ctx(argument=f"demo\n{lines}"))
    assert tracker.most == 4  # never more than REDMINE_CONCURRENCY at once, and the pool was used
    listed = [line.split(" (@")[0].split(") ", 1)[1] for line in reply.text.splitlines() if line.startswith("- [#")]
    assert listed == [f"Task {n}" for n in range(1, 13)]  # in the lines' order, whatever order they finished in


def test_once_a_create_fails_no_further_line_is_started() -> None:
    tracker = SlowTracker()
    lines = "1. One @bob\n2. Fail two @bob\n" + "\n".join(f"{n}. Later {n} @bob" for n in range(3, 13))
    reply = run("create_tickets", services(tracker, FakeChat(), concurrency=2), ctx(argument=f"demo\n{lines}"))
    assert len(tracker.started) <= 4  # two in flight when line 2 failed, at most one more started meanwhile
    assert "Redmine failed on line 2" in reply.text
    created = {d.subject for d in tracker.created}
    not_created = reply.text.split("Not created (")[1]
    for n in range(3, 13):
        assert (f"Later {n}" in created) != (f"line {n}: Later {n}" in not_created)  # each line said exactly once


def test_a_batch_with_an_unmapped_assignee_creates_nothing() -> None:
    tracker = FakeTracker()
    with pytest.raises(InputError) as caught:
        run("create_tickets", services(tracker), ctx(argument="demo\n1. One @bob\n2. Two @erin"))
    assert "line 2: @erin is not linked" in caught.value.user_message
    assert tracker.created == []


def test_lines_without_a_project_ask_for_one() -> None:
    with pytest.raises(InputError, match="Name the project first"):
        run("create_tickets", services(), ctx(argument="1. One @bob 10.05.27\n2. Two @bob"))


def test_create_tickets_in_a_dm_without_lines_explains_itself() -> None:
    assert "create_tickets <project>" in run("create_tickets", services(), ctx(surface="dm")).text


def test_the_form_defaults() -> None:
    form = run("create_ticket_by_form", services(), ctx()).form
    assert form is not None
    defaults = {f.name: f.default for f in form.fields}
    assert defaults["priority"] == "2" and defaults["start_date"] == "22.11.26" and defaults["done"] == "0"


def test_form_validation_reports_every_field() -> None:
    values = {
        "projects": "",
        "subject": "",
        "start_date": "2027-13-01",
        "end_date": "x",
        "estimated_time": "0",
        "done": "150",
        "trackers": "abc",
    }
    with pytest.raises(InputError) as caught:
        submit("create_ticket_by_form", services(), ctx(**values))
    assert set(caught.value.field_errors) == {
        "projects",
        "subject",
        "start_date",
        "end_date",
        "estimated_time",
        "done",
        "trackers",
    }


def test_estimated_hours_accept_decimals() -> None:
    tracker = FakeTracker()
    submit("create_ticket_by_form", services(tracker), ctx(projects="demo", subject="S", estimated_time="1,5"))
    assert str(tracker.created[0].estimated_hours) == "1.5"


def test_run_once_returns_the_first_reply_and_runs_once() -> None:
    store = MemoryStore()
    calls: list[int] = []
    context = CommandContext(ALICE, "c", "slash", idempotency_key="k1")

    def work() -> Reply:
        calls.append(1)
        return Reply(text="created #1")

    assert run_once(store, context, work).text == "created #1"
    assert run_once(store, context, work).text == "created #1"
    assert calls == [1]


def test_run_once_releases_the_key_when_the_work_fails() -> None:
    store = MemoryStore()
    context = CommandContext(ALICE, "c", "slash", idempotency_key="k2")

    def failing() -> Reply:
        raise InputError("fix it", {"subject": "required"})

    with pytest.raises(InputError):
        run_once(store, context, failing)
    assert run_once(store, context, lambda: Reply(text="second try")).text == "second try"


def test_run_once_waits_a_bounded_time_for_a_submit_still_running(monkeypatch: pytest.MonkeyPatch) -> None:
    from app_integration.core import dispatch as idempotency

    monkeypatch.setattr(idempotency, "WAIT_STEP_SECONDS", 0.0)
    store = MemoryStore()
    store.claim("k3", ALICE.id)
    context = CommandContext(ALICE, "c", "slash", idempotency_key="k3")
    assert run_once(store, context, lambda: Reply(text="never")).text == STILL_RUNNING


def test_errors_never_carry_a_traceback_text() -> None:
    error = BridgeError("Redmine is unavailable right now.")
    assert "Traceback" not in error.user_message


def test_a_submission_whose_writes_were_undone_may_be_sent_again() -> None:
    """A private channel's post: the neutral ticket is created and withdrawn (two writes Redmine accepted), and the
    person is asked to tick a box. The same dialog, sent again, runs again instead of answering "Redmine took at
    least part of it"."""
    from app_integration.core.dispatch import note_write, nothing_written, run_once
    from app_integration.core.errors import InputError
    from tests.unit.fakes import MemoryStore

    store, runs = MemoryStore(), []

    def work() -> Any:
        runs.append(1)
        note_write()  # the neutral create
        note_write()  # its withdrawal
        nothing_written()
        raise InputError("tick the box")

    context = ctx()
    context = dataclasses.replace(context, idempotency_key="k1")
    for _attempt in range(2):
        with pytest.raises(InputError):
            run_once(store, context, work)
    assert len(runs) == 2
