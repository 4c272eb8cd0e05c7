"""What the soak runs on: two `run` replicas on one real PostgreSQL, each through a proxy of its own (so that only
the leader's database traffic can be cut), the real Redmine behind a proxy, and the faults put on them."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import create_engine, text

from tests.fault_proxy import FaultProxy

LEADS = ("listener: this replica leads",)
FOLLOWS = ("another replica leads",)
LEASE = 15.0  # seconds: the store's lease (adapters/store/leadership.py)


@dataclass
class Replica:
    name: str  # also its PostgreSQL application_name
    port: int
    env: dict[str, str]
    log: Path
    db_proxy: FaultProxy
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "app_integration", "--env-file", os.devnull, "run"],
                env={**os.environ, **self.env},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.starts += 1

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def signal(self, number: int) -> None:
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, number)

    def stop(self) -> None:
        if self.alive():
            self.signal(signal.SIGCONT)
            self.signal(signal.SIGTERM)
            try:
                assert self.process is not None
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.signal(signal.SIGKILL)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def leads(self) -> bool:
        """Whether its log's last word on the lead says it leads (a killed one's last word is stale: ask alive)."""
        last = ""
        for line in self.log.read_text(errors="replace").splitlines():
            if any(marker in line for marker in LEADS):
                last = "leads"
            elif any(marker in line for marker in FOLLOWS):
                last = "follows"
        return last == "leads" and self.alive()


def through(url: str, proxy: FaultProxy, application_name: str) -> str:
    """The database URL with its host and port replaced by the proxy's, naming the connection."""
    parts = urlsplit(url)
    credentials = parts.netloc.rsplit("@", 1)[0]
    query = f"{parts.query}&" if parts.query else ""
    return urlunsplit(
        (
            parts.scheme,
            f"{credentials}@127.0.0.1:{proxy.port}",
            parts.path,
            query + f"application_name={application_name}",
            "",
        )
    )


def fresh_database(admin_url: str) -> str:
    """A new, empty database for this soak on the bridge's PostgreSQL."""
    name = f"bridge_soak_{int(time.time())}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return admin_url.rsplit("/", 1)[0] + "/" + name


def terminate_connections(database_url: str, application_name: str) -> int:
    """Ends every server process serving that replica, as an operator's pg_terminate_backend would."""
    engine = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        ended = connection.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = :name AND pid <> pg_backend_pid()"
            ),
            {"name": application_name},
        ).scalar()
    engine.dispose()
    return int(ended or 0)


@dataclass
class Rig:
    emulator: Any
    redmine_proxy: FaultProxy
    replicas: list[Replica]
    database_url: str  # direct, for the soak's own queries
    faults: list[tuple[float, str, float]] = field(default_factory=list)  # (at, kind, seconds)

    def leader(self) -> Replica:
        leading = [replica for replica in self.replicas if replica.leads()]
        return leading[-1] if leading else self.replicas[0]

    # The faults, each for `seconds` (0: a moment) ----------------------------------------------------
    def websockets_closed(self) -> float:
        self.emulator.disconnect_all()
        return 0.0

    def mattermost_outage(self, seconds: float = 15.0) -> float:
        self.emulator.refuse_rest = True
        try:
            with self.emulator.outage():
                time.sleep(seconds)
        finally:
            self.emulator.refuse_rest = False
        return seconds

    def redmine_refusing(self, seconds: float = 15.0) -> float:
        with self.redmine_proxy.fault("refuse"):
            time.sleep(seconds)
        return seconds

    def redmine_hanging(self, seconds: float = 15.0) -> float:
        with self.redmine_proxy.fault("hang"):
            time.sleep(seconds)
        return seconds

    def leader_killed(self, down: float = 5.0) -> float:
        leader = self.leader()
        leader.signal(signal.SIGKILL)
        assert leader.process is not None
        leader.process.wait(timeout=30)
        time.sleep(down)
        leader.start()
        return down

    def leader_stopped(self, seconds: float = LEASE + 10.0) -> float:
        leader = self.leader()
        leader.signal(signal.SIGSTOP)
        try:
            time.sleep(seconds)
        finally:
            leader.signal(signal.SIGCONT)
        return seconds

    def leader_connections_terminated(self) -> float:
        terminate_connections(self.database_url, self.leader().name)
        return 0.0

    def leader_database_black_holed(self, seconds: float = LEASE + 10.0) -> float:
        with self.leader().db_proxy.fault("hang"):
            time.sleep(seconds)
        return seconds

    KINDS = (
        "websockets_closed",
        "mattermost_outage",
        "redmine_refusing",
        "redmine_hanging",
        "leader_killed",
        "leader_stopped",
        "leader_connections_terminated",
        "leader_database_black_holed",
    )

    def inject(self, kind: str) -> None:
        started = time.monotonic()
        seconds = getattr(self, kind)()
        self.faults.append((started, kind, seconds))
