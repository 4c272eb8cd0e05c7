"""`make bench` and `make bench-full`: run the sections and write the report.

`make bench` (the default tier) writes every section's headline figure into docs/benchmarks.md in under ten minutes
on two cores; `make bench-full` runs the long sizes (the 1,000-issue cycle, the 35 s outage, the 10,000-command
replica run) into docs/benchmarks-full.md, where `make soak` adds its section. Each report ends with how long each
section took, so the budget is checked by the run itself. `--only 6,8` runs those sections again after a change
to what they measure and replaces them in the report, each saying when."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks import suite
from benchmarks.sandbox import ROOT, Tier, machine, provision
from benchmarks.sections_load import (
    section_files,
    section_limits,
    section_listener,
    section_load,
    section_real,
    section_slow_redmine,
    section_user_map,
)
from benchmarks.sections_recovery import (
    section_company,
    section_feed,
    section_recovery,
    section_replicas,
    section_round_trips,
)
from benchmarks.soak import HEADING as SOAK_HEADING

REPORTS = {"default": ROOT / "docs" / "benchmarks.md", "full": ROOT / "docs" / "benchmarks-full.md"}
DEFAULT_BUDGET_S = 600.0
TITLES = {
    "default": "Written by `make bench` (`python -m benchmarks.run_all`): every section's headline figure at sizes "
    "that fit ten minutes. The long sizes are in [benchmarks-full.md](benchmarks-full.md) (`make bench-full`).",
    "full": "Written by `make bench-full` (`python -m benchmarks.run_all --full`): the long sizes, and `make soak`'s "
    "section. The everyday run is [benchmarks.md](benchmarks.md).",
    "quick": "A smoke run (`python -m benchmarks.run_all --quick`): small sizes, printed, not kept.",
}


def main() -> int:
    parser = argparse.ArgumentParser()
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="small sizes, for a smoke run (prints, writes nothing)")
    size.add_argument("--full", action="store_true", help="the long sizes, into docs/benchmarks-full.md")
    parser.add_argument(
        "--only", default="", help="sections to run again, e.g. 6,8: replaced in the report, the rest kept as it was"
    )
    args = parser.parse_args()
    only = {part.strip() for part in args.only.split(",") if part.strip()}
    tier = Tier("quick" if args.quick else "full" if args.full else "default")
    sys.path.insert(0, str(ROOT))
    from mattermost_server.emulator import MattermostEmulator

    began = time.monotonic()
    production, small = provision("bridge-prod"), provision("bridge-tests")
    company = provision("bridge-company")
    redmine_url, admin_key = production.url, production.admin_key
    tmp = suite.temp_dir()
    lines = [
        "# Benchmarks",
        "",
        TITLES[tier.name],
        "Figures from one run; these machines are noisy, so no timing is asserted in the tests.",
        "",
        *machine(),
        f"- Redmine, production-shaped (what speed is measured against unless a table says otherwise): "
        f"{production.label}",
        f"- Redmine, the small case: {small.label}",
        "",
    ]
    emulator = MattermostEmulator(validate=False).start()
    people = [emulator.add_user(name) for name in ("alice", "bob", "carol")]
    emulator.add_channel("town-square", [emulator.bot, *people])
    sections: list[tuple[str, Callable[[], list[str]]]] = [
        ("1. Round trips", lambda: section_round_trips(redmine_url, admin_key, emulator, tmp, tier)),
        ("1c. Company Redmine", lambda: section_company(company, emulator, tmp, tier)),
        ("1b. Parallel limit", lambda: section_limits((production, small), emulator, tmp, tier)),
        ("2-3. Overhead and capacity", lambda: section_load(emulator, tmp, tier)),
        ("4. Listener", lambda: section_listener(redmine_url, admin_key, emulator, tmp, tier)),
        ("5. Real Redmines", lambda: section_real((production, small), emulator, tmp, tier)),
        ("6. Redmine's changes", lambda: section_feed(redmine_url, admin_key, emulator, tmp, tier)),
        ("7. Replicas", lambda: section_replicas(emulator, tmp, tier)),
        ("8. Recovery", lambda: section_recovery(redmine_url, admin_key, emulator, tmp, tier)),
        ("9. Files", lambda: section_files(tier)),
        ("10. User map", lambda: section_user_map(small, emulator, tmp, tier)),
        ("11. Slow Redmine", lambda: section_slow_redmine(production, emulator, tmp, tier)),
    ]
    took: list[tuple[str, float]] = [("Provisioning the Redmines", time.monotonic() - began)]
    if only:
        sections = [(name, section) for name, section in sections if name.split(".")[0] in only]
    written: list[list[str]] = []
    try:
        for name, section in sections:
            started = time.monotonic()
            written.append(section())
            lines += written[-1]
            took.append((name, time.monotonic() - started))
            print(f"[bench] {name}: {took[-1][1]:.0f} s", file=sys.stderr, flush=True)
    finally:
        emulator.stop()
    if only:
        return _replace_sections(REPORTS.get(tier.name), written, took[1:])
    total = time.monotonic() - began
    lines += ["## How long this run took", "", "| Section | Seconds |", "|---|---:|"]
    lines += [f"| {name} | {seconds:.0f} |" for name, seconds in took]
    lines += [f"| **All** | **{total:.0f}** |", ""]
    if tier.name == "default" and total > DEFAULT_BUDGET_S:
        lines += [f"Over the default run's budget of {DEFAULT_BUDGET_S / 60:.0f} minutes: shrink a section's size.", ""]
    print("\n".join(lines))
    report = REPORTS.get(tier.name)
    if report is None:
        return 0
    report.parent.mkdir(exist_ok=True)
    if tier.name == "full":
        # The soak's section is `make soak`'s own: kept as it last wrote it.
        existing = report.read_text(encoding="utf-8") if report.exists() else ""
        soak = existing.partition(SOAK_HEADING)[2]
        lines += [SOAK_HEADING + soak.rstrip("\n")] if soak else []
    report.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"\nwrote {report.relative_to(ROOT)}")
    return 0


def _replace_sections(report: Path | None, written: list[list[str]], took: list[tuple[str, float]]) -> int:
    """Sections run again replace their namesakes in the report, each saying when; the rest stays as written."""
    if report is None or not report.exists():
        print("\n".join(line for section in written for line in section))
        return 0
    text = report.read_text(encoding="utf-8")
    for section, (_name, seconds) in zip(written, took, strict=True):
        heading = section[0]
        head, found, rest = text.partition(heading + "\n")
        if not found:
            print(f"{heading!r} is not in {report.name}: run the whole report", file=sys.stderr)
            return 1
        tail = rest[rest.find("\n## ") + 1 :] if "\n## " in rest else ""
        moment = f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC"
        when = f"_Run again on {moment} ({seconds:.0f} s); the rest of the report is the run above._"
        text = head + "\n".join([heading, "", when, *section[1:]]).rstrip("\n") + "\n\n" + tail
    report.write_text(text, encoding="utf-8")
    print(f"\nreplaced {len(written)} section(s) in {report.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
