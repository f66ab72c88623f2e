"""A real `redis-server` on a free loopback port, without persistence, for the suite."""

import contextlib
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def redis_binary() -> str | None:
    """Debian installs it in /usr/bin; a source build in /usr/local/bin."""
    return shutil.which("redis-server") or shutil.which("redis-server", path="/usr/local/bin")


class RedisServer:
    """One `redis-server` process; `stop()` and `start()` again keep its port (an outage)."""

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        # No persistence: nothing written to disk, nothing loaded on a restart.
        options = f"--port {self.port} --bind 127.0.0.1 --appendonly no --loglevel warning"
        self.process = subprocess.Popen(
            [self.binary, *options.split(), "--save", ""],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while self.command(b"PING") != b"+PONG\r\n":
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None

    def command(self, line: bytes) -> bytes | None:
        """One inline command's raw reply, or None while nothing answers."""
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock,
        ):
            sock.sendall(line + b"\r\n")
            return sock.recv(65536)
        return None


@contextlib.contextmanager
def silent_redis() -> Iterator[str]:
    """A Redis URL whose server accepts connections and never answers (a hung Redis)."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=1024)
    held: list[socket.socket] = []
    stopping = threading.Event()

    def accept() -> None:
        while not stopping.is_set():
            with contextlib.suppress(OSError):
                held.append(listener.accept()[0])

    listener.settimeout(0.2)
    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
    finally:
        stopping.set()
        thread.join(timeout=5)
        for connection in held:
            connection.close()
        listener.close()


@contextlib.contextmanager
def redis_on_free_port() -> Iterator[RedisServer]:
    """A real `redis-server` on a free port until the block ends (`make e2e-deps`
    installs it); without one, `unavailable` (skipped locally, failed in CI)."""
    binary = redis_binary()
    if binary is None:
        from tests.e2e.conftest import unavailable

        unavailable("redis-server is not installed (.ci/install-e2e-deps installs it)")
    server = RedisServer(binary)
    server.start()
    try:
        yield server
    finally:
        server.stop()
