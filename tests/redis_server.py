"""A throwaway ``redis-server`` on 127.0.0.1 for the Redis state backend tests.

`RedisServer` starts the system's ``redis-server`` binary on a free port with its own
temporary directory and no persistence (``--save "" --appendonly no``) unless asked for
an append-only file (the restart tests need the data to survive a SIGKILL). It can be
killed, frozen (SIGSTOP: the port still accepts connections but nothing answers, which
is what a stuck server looks like) and restarted on the same port. `require_redis`
skips the calling test module when the binary or the ``redis`` client is missing, or
fails it when ``OMNILLM_REQUIRE_REDIS=1`` (``.ci/run`` sets it: CI must not pass with
no Redis test run).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Iterator, List, Optional

import pytest

BINARY = shutil.which("redis-server")

REQUIRE_ENV = "OMNILLM_REQUIRE_REDIS"
"""Set to ``1`` to make a missing ``redis-server`` or ``redis`` client fail the tests instead of skipping them."""


def _required() -> bool:
    return os.environ.get(REQUIRE_ENV, "").strip().lower() in ("1", "true", "yes")


def _missing(reason: str) -> None:
    if _required():
        pytest.fail(f"{reason}, and {REQUIRE_ENV}=1 says the Redis tests must run", pytrace=False)
    pytest.skip(f"{reason} (.ci/run installs it)", allow_module_level=True)


def require_redis(binary: Optional[str] = "redis-server") -> None:
    """Skip the calling module unless ``binary`` (a name on PATH or a path) and the ``redis`` client exist.

    With ``OMNILLM_REQUIRE_REDIS=1`` in the environment a missing piece fails instead.
    """
    if binary is None or shutil.which(binary) is None:
        _missing(f"redis-server is not installed (looked for {binary!r})")
    try:
        import redis  # noqa: F401
    except ImportError:
        _missing("the redis client is not installed (pip install 'omnillm[redis]')")


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    """One ``redis-server`` process; a context manager."""

    def __init__(self, *, appendonly: bool = False) -> None:
        self.port = free_port()
        self.appendonly = appendonly
        self._dir = tempfile.mkdtemp(prefix="omnillm-redis-")
        self._proc: Optional[subprocess.Popen[bytes]] = None

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:<port>/0``."""
        return f"redis://127.0.0.1:{self.port}/0"

    def _command(self) -> List[str]:
        assert BINARY is not None
        command = [BINARY, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self._dir, "--save", ""]
        if self.appendonly:
            # Every write reaches the file before Redis answers: a SIGKILL loses nothing.
            command += ["--appendonly", "yes", "--appendfsync", "always"]
        else:
            command += ["--appendonly", "no"]
        return command

    def start(self) -> RedisServer:
        """Start the server and wait (at most 10 s) until it answers PING."""
        self._proc = subprocess.Popen(self._command(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"redis-server exited with status {self._proc.returncode}")
            if self._answers():
                return self
            time.sleep(0.02)
        self.kill()
        raise RuntimeError("redis-server did not answer within 10 s")

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        """SIGKILL the server and wait for it to be gone."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            os.kill(proc.pid, signal.SIGCONT)  # a frozen process must run to die promptly
            proc.kill()
            proc.wait(timeout=10)

    def freeze(self) -> None:
        """SIGSTOP the server: connections are accepted by the kernel but nothing answers."""
        assert self._proc is not None
        os.kill(self._proc.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        """SIGCONT a frozen server."""
        assert self._proc is not None
        os.kill(self._proc.pid, signal.SIGCONT)

    def restart(self) -> None:
        """Start again on the same port and directory (after `kill`)."""
        self.kill()
        self.start()

    def client(self) -> Any:
        """A ``redis.Redis`` client for direct inspection."""
        import redis

        return redis.Redis.from_url(self.url, socket_timeout=5)

    def stop(self) -> None:
        """Kill the server and remove its directory."""
        self.kill()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def data_dir(server: RedisServer) -> Path:
    """The server's working directory (holds the append-only file when enabled)."""
    return Path(server._dir)


class ManualClock:
    """A local monotonic clock a test moves by hand (probe scheduling, flush timing)."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


@contextlib.contextmanager
def backends(url: str, prefix: str, **defaults: Any) -> Iterator[Callable[..., Any]]:
    """A factory of `RedisStateBackend` s on ``url`` sharing ``prefix`` (one test's keys),
    with ``defaults`` for their options; every backend made is closed at the end."""
    from omnillm.gateway.redis_state import RedisStateBackend

    made: List[Any] = []

    def factory(**kw: Any) -> Any:
        for name, value in defaults.items():
            kw.setdefault(name, value)
        kw.setdefault("prefix", prefix)
        backend = RedisStateBackend(kw.pop("url", url), **kw)
        made.append(backend)
        return backend

    try:
        yield factory
    finally:
        for backend in made:
            backend.close()
