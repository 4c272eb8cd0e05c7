"""Renders the pictures in imgs/: the architecture diagram (graphviz) and what the bot's
replies look like (the demo's transcript, rendered by headless Chromium).

Run by `make imgs`, which installs graphviz and chromium from Debian's packages if needed.
"""

from __future__ import annotations

import html
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import markdown

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TRANSCRIPT = ROOT / "build" / "demo-transcript.md"
STYLE = """
body { font-family: 'Open Sans', 'DejaVu Sans', sans-serif; background: #fff; color: #3d3c40; margin: 0; }
.channel { width: 1100px; padding: 16px 24px; }
h1 { font-size: 18px; border-bottom: 1px solid #ddd; padding-bottom: 8px; }
h2 { font-size: 14px; color: #1e325c; margin: 22px 0 6px; text-transform: uppercase; letter-spacing: .04em; }
p { margin: 6px 0; font-size: 14px; }
strong { color: #1e325c; }
table { border-collapse: collapse; font-size: 13px; margin: 6px 0 10px; }
th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: left; }
th { background: #f4f4f6; }
a { color: #2389d7; text-decoration: none; }
code { background: #f4f4f6; padding: 1px 4px; border-radius: 3px; font-size: 12px; }
"""


def diagram() -> None:
    subprocess.run(
        ["dot", "-Tpng", "-Gdpi=110", str(HERE / "architecture.dot"), "-o", str(HERE / "architecture.png")], check=True
    )


def for_the_page(text: str, rows: int = 8) -> str:
    """Mattermost renders a table or list right under a line; Python-Markdown wants a blank line first.
    Long tables are cut to `rows` rows, for a picture that shows the shape."""
    out: list[str] = []
    shown = 0
    for line in text.splitlines():
        starts_block = line.startswith(("|", "- "))
        if starts_block and out and out[-1] and not out[-1].startswith(("|", "- ")):
            out.append("")
        if line.startswith("|"):
            shown += 1
            if shown == rows + 3:
                out.append("| ⋯ |")
            if shown >= rows + 3:
                continue
        else:
            shown = 0
        out.append(line)
    return "\n".join(out)


def replies() -> None:
    if not TRANSCRIPT.is_file():
        raise SystemExit(f"{TRANSCRIPT} is missing: run `make demo` first.")
    text = for_the_page(TRANSCRIPT.read_text(encoding="utf-8"))
    body = markdown.markdown(text, extensions=["tables", "fenced_code"])
    page = (
        f"<!doctype html><meta charset=utf-8><title>replies</title><style>{STYLE}</style>"
        f"<div class=channel>{body}</div>"
    )
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("chromium is not installed (apt-get install chromium)")
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "replies.html"
        source.write_text(page, encoding="utf-8")
        subprocess.run(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={tmp}/profile",
                "--hide-scrollbars",
                "--window-size=1150,1900",
                f"--screenshot={HERE / 'replies.png'}",
                source.as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
    print(f"wrote {HERE / 'replies.png'} ({html.escape(str(TRANSCRIPT.name))} rendered)")


if __name__ == "__main__":
    diagram()
    if "--diagram-only" not in sys.argv:
        replies()
