"""Finds `#t10` references in a message and turns them into links, safely.

A reference counts only in plain text: never inside a code span or block, an existing
Markdown link, or a URL. Rewriting is idempotent: a rewritten reference sits inside a
link, which is protected text, so a second pass changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping

from .formatting import link

MAX_REFS = 20

_PROTECTED = re.compile(
    r"(?P<fence>^[ \t]*(?P<mark>```|~~~)[\s\S]*?(?:^[ \t]*(?P=mark)[ \t]*$|\Z))"  # fenced code block
    r"|(?P<code>(?P<ticks>`+)[\s\S]*?(?<!`)(?P=ticks)(?!`))"  # inline code span
    r"|(?P<link>!?\[(?:\\.|[^\]\\])*\]\([^)\s]*(?:\s+\"[^\"]*\")?\))"  # [label](url)
    r"|(?P<auto><(?:https?|ftp|mailto):[^>\s]+>)"  # <autolink>
    r"|(?P<url>(?:\b(?:https?|ftp)://|\bwww\.)[^\s<]+)",  # bare URL
    re.MULTILINE,
)
_REF = re.compile(r"(?<![\w#&/])#t(\d{1,9})(?![\w#])")


def _plain_spans(message: str) -> Iterator[tuple[int, int]]:
    """(start, end) of every stretch of plain text between protected regions."""
    position = 0
    for match in _PROTECTED.finditer(message):
        if match.start() > position:
            yield position, match.start()
        position = match.end()
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
