"""Where the processes of one bridge share their metrics: set before prometheus_client is first imported,
which is when the library decides how it keeps values. Imports nothing of it, so the CLI can call it first."""

from __future__ import annotations

import os
import shutil
import tempfile

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Set by `run` for its children: the directory is theirs to write, not to empty, and `serve` shows both.
SHARED_ENV = "BRIDGE_METRICS_SHARED"


def prepare_multiprocess(share_with_children: bool = False) -> str:
    """A fresh directory for this process tree's samples, unless a parent (`run`) already made one."""
    if os.environ.get(SHARED_ENV) and os.environ.get(MULTIPROC_ENV):
        return os.environ[MULTIPROC_ENV]
    path = os.environ.get(MULTIPROC_ENV) or tempfile.mkdtemp(prefix="bridge-metrics-")
    shutil.rmtree(path, ignore_errors=True)  # samples of an earlier run would be added to this one's
    os.makedirs(path, mode=0o700, exist_ok=True)
    os.environ[MULTIPROC_ENV] = path
    if share_with_children:
        os.environ[SHARED_ENV] = "1"
    return path


def shared_by_parent() -> bool:
    return bool(os.environ.get(SHARED_ENV))
