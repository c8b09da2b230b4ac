"""``csc-warehouse ui``: the Dagster UI and daemon for one home, started and stopped cleanly.

``dagster dev`` shuts its webserver, daemon and code server down on SIGINT (Ctrl-C). Started in
the background by a shell, a service manager or a test, it gets SIGTERM instead, or SIGINT
ignored (a non-interactive shell starts background jobs with SIGINT ignored), and lingered with
its children. This wrapper runs it in its own process group with SIGINT restored, turns
SIGTERM/SIGINT/SIGHUP into one SIGINT to that group, waits for the clean shutdown and kills what
is left after a grace period, then exits.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

GRACE_SECONDS = 30.0
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def dagster_dev_command(host: str, port: int) -> list[str]:
    """The ``dagster dev`` command line for this project's code location."""
    return [str(Path(sys.executable).parent / "dagster"), "dev", "-m", "dagster_project.definitions",
            "--host", host, "--port", str(port)]


def _restore_sigint() -> None:  # in the child, before exec
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def serve(command: list[str], grace: float = GRACE_SECONDS) -> int:
    """Run ``command`` in its own process group until it exits or this process is asked to stop;
    return its exit code (0 after a requested stop that shut down cleanly)."""
    child = subprocess.Popen(command, start_new_session=True, preexec_fn=_restore_sigint)
    deadline: list[float] = []  # set when a stop is requested

    def stop(_signum: int, _frame) -> None:
        if not deadline:
            deadline.append(time.monotonic() + grace)
            os.killpg(child.pid, signal.SIGINT)

    for signum in STOP_SIGNALS:
        signal.signal(signum, stop)
    while (code := child.poll()) is None:
        if deadline and time.monotonic() > deadline[0]:  # not gone after the grace period
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
            return 1
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):  # the group is already empty
        os.killpg(child.pid, signal.SIGKILL)  # whatever of the group is still running
    return 0 if deadline and code in (0, -signal.SIGINT, 130) else code
