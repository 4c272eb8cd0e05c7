"""`#t` references: what counts, and that rewriting is idempotent (a property test)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from app_integration.core.posts.ticket_refs import MAX_REFS, find_refs, markdown_link, rewrite_refs


def render(issue_id: int) -> str:
    return markdown_link(f"#t{issue_id}", f"http://redmine.test/issues/{issue_id}")


def test_what_counts_as_a_reference() -> None:
    text = (
        "#t1 (#t2), #t3. `#t4` ``a #t5 b`` http://x/#t6 <http://y/#t7> [#t8](http://z) www.w.org/#t9 "
        "a#t10 &#t11 #t12x #t0013\n```\n#t14\n```\n~~~\n#t15\n~~~\nend #t16"
    )
    assert find_refs(text) == [1, 2, 3, 13, 16]


def test_a_reference_repeated_is_one() -> None:
    assert find_refs("#t5 #t5 #t6 #t5") == [5, 6]


def test_at_most_twenty_references() -> None:
    assert find_refs(" ".join(f"#t{n}" for n in range(1, 40))) == list(range(1, MAX_REFS + 1))


def test_unknown_references_stay_as_written() -> None:
    assert rewrite_refs("#t1 and #t2", {1: render(1)}) == f"{render(1)} and #t2"


def test_an_unclosed_fence_protects_the_rest() -> None:
    assert find_refs("#t1\n```\n#t2 never closed") == [1]


pieces = st.sampled_from(
    [
        "#t1",
        "#t22",
        "#t333",
        " ",
        "\n",
        "`",
        "```",
        "[",
        "]",
        "(",
        ")",
        "http://x/",
        "a",
        "#",
        "t",
        "1",
        "www.",
        "<",
        ">",
        "~~~",
        "\\",
        "*",
        "_",
    ]
)
messages = st.lists(pieces, max_size=40).map("".join)


@settings(max_examples=400, deadline=None)
@given(messages)
def test_rewriting_twice_changes_nothing(message: str) -> None:
    once = rewrite_refs(message, render)
    assert rewrite_refs(once, render) == once


@settings(max_examples=400, deadline=None)
@given(messages)
def test_a_rewrite_leaves_no_plain_reference_and_keeps_the_rest(message: str) -> None:
    once = rewrite_refs(message, render)
    assert find_refs(once) == []
    for issue_id in find_refs(message):
        assert render(issue_id) in once
    # Undoing the links gives back the original text.
    undone = once
    for issue_id in find_refs(message):
        undone = undone.replace(render(issue_id), f"#t{issue_id}")
    assert undone == message
