"""`serve --workers N`: N server processes on one port (SO_REUSEPORT) and one database file, supervised.

The supervising process serves nothing: it starts the workers, announces the endpoint once all listen,
starts a new worker when one dies (so a crash, even `kill -9`, costs one process's connections, not the
endpoint), and stops them all when it stops. Each worker also ends when the supervisor does, however that
happens: its stdin is a pipe from the supervisor, and it stops when that closes.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable

RESPAWN_DELAY = 1.0  # seconds between starts of a worker for one slot, so a worker that cannot start does not spin


def cpu_count() -> int:
    """The CPUs this process may run on (its affinity mask, else the machine's)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def reserve_port(host: str, port: int) -> int:
    """The port the workers will share: `port`, or a free one for 0. Bound once without SO_REUSEPORT, so a
    port already in use, even by another `serve --workers` (whose workers would otherwise take our share of
    its connections), is refused here (raises OSError)."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                         flags=socket.AI_PASSIVE)[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(address)
        return int(probe.getsockname()[1])


class Pool:
    """The worker processes: `command(n)` is the command line of worker `n` (0 to size - 1); `env`: variables
    added to this process's environment for all of them."""

    def __init__(self, command: Callable[[int], list[str]], size: int, env: dict[str, str] | None = None) -> None:
        self.command = command
        self.env = {**os.environ, **env} if env else None
        self.processes: list[subprocess.Popen[bytes]] = []
        self._started = [0.0] * size

    def start(self) -> None:
        """Start every worker and wait until each listens (raises RuntimeError if one ends first)."""
        self.processes = [self._spawn(n) for n in range(len(self._started))]
        for process in self.processes:
            assert process.stdout is not None
            if not process.stdout.readline():
                raise RuntimeError("a worker process failed to start")

    def _spawn(self, n: int) -> subprocess.Popen[bytes]:
        self._started[n] = time.monotonic()
        return subprocess.Popen(self.command(n), stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=self.env)

    def supervise(self, stop: threading.Event, interval: float = 0.2) -> None:
        """Until `stop` is set: reap each worker that ended and start another in its place."""
        while not stop.wait(interval):
            for n, process in enumerate(self.processes):
                if process.poll() is not None and time.monotonic() - self._started[n] >= RESPAWN_DELAY:
                    print(f"dynamokit: worker {process.pid} ended (status {process.returncode}); starting another",
                          file=sys.stderr, flush=True)
                    self.processes[n] = self._spawn(n)

    def stop(self, timeout: float = 30.0) -> None:
        """Ask every worker to stop (SIGTERM), and wait for them (killing those still running at `timeout`)."""
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + timeout
        for process in self.processes:
            try:
                process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
