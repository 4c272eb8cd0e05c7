"""Every parser that reads chat or Redmine text runs in time linear in its input.

Two posts of 16,383 `[` (the longest post Mattermost takes, model/post.go PostMessageMaxRunesV2) once held the
listener for over 120 s. Each parser gets the longest post of each character the parsers treat specially, and
shapes known to make a backtracking scan quadratic. The bound below is no speed measure (that is `make bench`):
a linear pass takes milliseconds, a quadratic one tens of seconds, so it only tells the two apart."""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from app_integration.core.commands.input_parsing import parse_ticket_lines
from app_integration.core.formatting import plain
from app_integration.core.posts.ticket_refs import find_refs, rewrite_refs
from app_integration.core.updates.event_fanout import _CITED_POST, mentioned_logins

LONGEST = 16_383
HANG = 5.0  # seconds: far above a linear pass, far below a quadratic one


def _repeat(unit: str) -> str:
    return (unit * (LONGEST // len(unit) + 1))[:LONGEST]


SHAPES = {
    **{f"{char!r} only": _repeat(char) for char in "[`#@*("},
    "growing tick runs": "".join("`" * n + "a" for n in range(1, 200))[:LONGEST],
    "unclosed links": _repeat("[x]("),
    "unclosed labels": _repeat("[a"),
    "titles": _repeat('[x](u "'),
    "refs": _repeat("#t1 "),
    "mentions": _repeat("@a."),
    "mentions without a letter": _repeat("@."),
    "mention tails": _repeat("@a.-@"),
    "fences": _repeat("```\n~~~\n"),
    "urls": _repeat("http://"),
}
PARSERS: dict[str, Callable[[str], Any]] = {
    "find_refs": find_refs,
    "rewrite_refs": lambda text: rewrite_refs(text, lambda n: f"[#t{n}](x)"),
    "create_tickets lines": lambda text: parse_ticket_lines(text, dt.date(2026, 12, 3)),
    "plain": plain,
    "mentions in notes": mentioned_logins,
    "posts cited by notes": _CITED_POST.findall,
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
@pytest.mark.parametrize("parser", sorted(PARSERS))
def test_the_longest_post_is_parsed_in_linear_time(parser: str, shape: str) -> None:
    done = threading.Event()
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            PARSERS[parser](SHAPES[shape])
        except BaseException as error:  # a parser may refuse the text; it must not hang on it
            outcome.append(error)
        finally:
            done.set()

    threading.Thread(target=run, daemon=True).start()
    assert done.wait(HANG), f"{parser} took over {HANG} s on {shape}: not linear"
    assert not [e for e in outcome if not isinstance(e, ValueError)], outcome


def _seconds(parse: Callable[[str], Any], text: str) -> float:
    """The fastest of three timings of one parse, each repeated until it takes 20 ms, per parse."""
    best = float("inf")
    for _round in range(3):
        runs, started = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - started) < 0.02 and runs < 10_000:
            with contextlib.suppress(ValueError):
                parse(text)
            runs += 1
        best = min(best, elapsed / runs)
    return best


@pytest.mark.parametrize("shape", sorted(SHAPES))
@pytest.mark.parametrize("parser", sorted(PARSERS))
def test_four_times_the_text_takes_about_four_times_as_long(parser: str, shape: str) -> None:
    """A fixed bound cannot see a quadratic parser on a short input (8.6 s on 64 KB is 0.5 s on 16 KB): the
    growth can. Linear grows 4x from n to 4n, quadratic 16x; 8 leaves room for a noisy machine. Redmine's notes
    have no length limit, so this is measured past the longest post Mattermost takes."""
    text = SHAPES[shape]
    short, long = text[: len(text) // 4], text
    ratio = _seconds(PARSERS[parser], long) / max(_seconds(PARSERS[parser], short), 1e-9)
    assert ratio < 8, f"{parser} on {shape}: 4x the text took {ratio:.1f}x as long"
