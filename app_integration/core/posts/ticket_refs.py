"""Finds `#t10` references in a message and turns them into links, safely.

A reference counts only in plain text: never inside a code span or block, an existing
Markdown link, or a URL. Rewriting is idempotent: a rewritten reference sits inside a
link, which is protected text, so a second pass changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping

from app_integration.core.formatting import link

MAX_REFS = 20

# What is not plain text, besides code spans (found by `_code_spans`): fenced blocks, then links and URLs. Each
# part is bounded or stops at the next bracket of its kind, so no input makes a scan quadratic.
_FENCE = re.compile(r"^[ \t]*(?P<mark>```|~~~)[\s\S]*?(?:^[ \t]*(?P=mark)[ \t]*$|\Z)", re.MULTILINE)
_LINKS = re.compile(
    r"!?\[(?:\\.|[^\[\]\\]){0,1000}\]\([^()\s]{0,2048}(?:\s+\"[^\"]{0,300}\")?\)"  # [label](url)
    r"|<(?:https?|ftp|mailto):[^>\s]{1,2048}>"  # <autolink>
    r"|(?:\b(?:https?|ftp)://|\bwww\.)[^\s<]+"  # bare URL
)
_TICKS = re.compile(r"`+")
_REF = re.compile(r"(?<![\w#&/])#t(\d{1,9})(?![\w#])")


def _code_spans(message: str) -> list[tuple[int, int]]:
    """Inline code, as CommonMark reads it: a run of n backticks up to the next run of exactly n. Found in one
    pass over the runs (a regex doing this took 117 s for 16,383 characters of runs of growing length)."""
    runs = [(m.start(), m.end()) for m in _TICKS.finditer(message)]
    following: list[int | None] = [None] * len(runs)
    latest: dict[int, int] = {}
    for index in range(len(runs) - 1, -1, -1):
        length = runs[index][1] - runs[index][0]
        following[index] = latest.get(length)
        latest[length] = index
    spans, index = [], 0
    while index < len(runs):
        closing = following[index]
        if closing is None:
            index += 1  # an unmatched run is literal text
            continue
        spans.append((runs[index][0], runs[closing][1]))
        index = closing + 1
    return spans


def _protected(message: str) -> Iterator[tuple[int, int]]:
    """Protected regions in order; where two begin together, a fence wins over code, and code over a link, as
    Markdown reads them. Each kind's next match is kept until passed, so each kind scans the text once."""
    codes = iter(_code_spans(message))
    next_code = next(codes, None)
    position = 0
    fence = _FENCE.search(message)
    found = _LINKS.search(message)
    while True:
        if fence is not None and fence.start() < position:
            fence = _FENCE.search(message, position)
        if found is not None and found.start() < position:
            found = _LINKS.search(message, position)
        while next_code is not None and next_code[0] < position:
            next_code = next(codes, None)
        candidates = [
            (span[0], rank, span[1])
            for rank, span in enumerate(
                (
                    (fence.start(), fence.end()) if fence else None,
                    next_code,
                    (found.start(), found.end()) if found else None,
                )
            )
            if span is not None
        ]
        if not candidates:
            return
        begin, _rank, end = min(candidates)
        yield begin, end
        position = max(end, begin + 1)


def _plain_spans(message: str) -> Iterator[tuple[int, int]]:
    """(start, end) of every stretch of plain text between protected regions."""
    position = 0
    for start, end in _protected(message):
        if start > position:
            yield position, start
        position = end
    if position < len(message):
        yield position, len(message)


def find_refs(message: str, limit: int = MAX_REFS) -> list[int]:
    """Distinct issue ids referenced in plain text, in order, at most `limit`."""
    found: dict[int, None] = {}
    for start, end in _plain_spans(message):
        for match in _REF.finditer(message, start, end):
            found.setdefault(int(match.group(1)), None)
            if len(found) >= limit:
                return list(found)
    return list(found)


def rewrite_refs(message: str, render: Mapping[int, str] | Callable[[int], str | None]) -> str:
    """The message with each plain-text reference that `render` knows replaced by its link."""
    lookup = render.get if isinstance(render, Mapping) else render
    parts: list[str] = []
    position = 0
    for start, end in _plain_spans(message):
        parts.append(message[position:start])
        parts.append(_REF.sub(lambda m: lookup(int(m.group(1))) or m.group(0), message[start:end]))
        position = end
    parts.append(message[position:])
    return "".join(parts)


def markdown_link(label: str, url: str) -> str:
    return link(label, url)
