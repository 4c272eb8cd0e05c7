"""How the demo shows what people would see: Markdown rendered for a terminal as it runs, and the whole
session saved as Markdown (build/demo-transcript.md) for the README's pictures."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TRANSCRIPT = ROOT / "build" / "demo-transcript.md"
WIDTH = 100
_LINK = re.compile(r"\[((?:\\.|[^\]\\])*)\]\(([^)\s]*)\)")


def render(markdown: str) -> str:
    """Markdown as a person reads it in a terminal: links as their text, tables aligned."""
    out: list[str] = []
    table: list[list[str]] = []
    for line in [*markdown.splitlines(), ""]:
        stripped = line.strip()
        if stripped.startswith("|") and stripped.endswith("|"):
            cells = [_LINK.sub(r"\1", c).replace("\\|", "|").strip() for c in re.split(r"(?<!\\)\|", stripped)[1:-1]]
            if not all(set(c) <= set("-:") for c in cells):
                table.append(cells)
            continue
        if table:
            out += _table(table)
            table = []
        text = _LINK.sub(r"\1", line)
        out.append(text.lstrip("#").strip().upper() if text.startswith("#") else text)
    return "\n".join(out).rstrip()


def _table(rows: list[list[str]]) -> list[str]:
    columns = max(len(r) for r in rows)
    rows = [r + [""] * (columns - len(r)) for r in rows]
    widths = [min(max(len(r[i]) for r in rows), 44) for i in range(columns)]
    cut = [[c if len(c) <= w else c[: w - 1] + "…" for c, w in zip(r, widths, strict=True)] for r in rows]
    line = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    body = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in cut]
    return [line, body[0], line, *body[1:], line]


class Transcript:
    def __init__(self) -> None:
        self.parts: list[str] = []

    def step(self, title: str) -> None:
        print("\n" + "=" * WIDTH + f"\n{title}\n" + "=" * WIDTH)
        self.parts.append(f"\n## {title}\n")

    def says(self, who: str, text: str, raw: bool = False) -> None:
        shown = text if raw else render(text)
        print(f"\n{who}:\n" + "\n".join("    " + line for line in shown.splitlines()))
        self.parts.append(f"**{who}:**\n\n{text}\n")

    def save(self) -> None:
        TRANSCRIPT.parent.mkdir(exist_ok=True)
        TRANSCRIPT.write_text("# The bridge's demo session\n" + "\n".join(self.parts), encoding="utf-8")
