"""`make bench`: runs the suite and writes docs/benchmarks.md."""

from __future__ import annotations

import argparse
import sys

from benchmarks import suite
from benchmarks.sandbox import ROOT, machine, provision
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

OUTPUT = ROOT / "docs" / "benchmarks.md"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from mattermost_server.emulator import MattermostEmulator

    quick = args.quick
    production, small = provision("bridge-prod"), provision("bridge-tests")
    company = provision("bridge-company")
    redmine_url, admin_key = production.url, production.admin_key
    tmp = suite.temp_dir()
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`python -m benchmarks.run_all`). Figures from one run;",
        "these machines are noisy, so no timing is asserted in the tests.",
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
    try:
        lines += section_round_trips(redmine_url, admin_key, emulator, tmp, quick)
        lines += section_company(company, emulator, tmp, quick)
        lines += section_limits((production, small), emulator, tmp, quick)
        lines += section_load(emulator, tmp, quick)
        lines += section_listener(redmine_url, admin_key, emulator, tmp, quick)
        lines += section_real((production, small), emulator, tmp, quick)
        lines += section_feed(redmine_url, admin_key, emulator, tmp, quick)
        lines += section_replicas(emulator, tmp, quick)
        lines += section_recovery(redmine_url, admin_key, emulator, tmp, quick)
        lines += section_files(quick)
        lines += section_user_map(small, emulator, tmp, quick)
        lines += section_slow_redmine(production, emulator, tmp, quick)
    finally:
        emulator.stop()
    OUTPUT.parent.mkdir(exist_ok=True)
    # The soak's section is `make soak`'s own: kept as it last wrote it.
    soak = OUTPUT.read_text(encoding="utf-8").partition(SOAK_HEADING)[2] if OUTPUT.exists() else ""
    lines += [SOAK_HEADING + soak.rstrip("\n")] if soak else []
    OUTPUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    print(f"\nwrote {OUTPUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
