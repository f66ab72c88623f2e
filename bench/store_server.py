"""A throw-away `redis-server` on loopback for the benchmarks' shared-store rows."""

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

MISSING = "redis-server not installed (make e2e-deps installs it): the Redis rows are skipped"


@contextlib.contextmanager
def redis_server() -> Iterator[str | None]:
    """Its URL, or None when there is no `redis-server` here; stopped on the way out."""
    binary = shutil.which("redis-server")
    if binary is None:
        print(MISSING)
        yield None
        return
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(  # noqa: S603 (redis-server, found on PATH)
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port)) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16) == b"+PONG\r\n":
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.kill()
        process.wait(timeout=10)
