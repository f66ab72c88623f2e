"""`backoffice serve`: uvicorn with a drain on SIGTERM, for one worker or several.

On SIGTERM every worker reports not-ready (`/health/ready` 503) and answers with
`Connection: close` while still serving for `DRAIN_SECONDS`, so load balancers stop
sending it work before anything is refused; then uvicorn stops accepting, finishes
in-flight requests and background tasks within `GRACEFUL_SHUTDOWN_SECONDS`, and exits.
"""

import logging
import resource
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

import uvicorn
from fastapi import FastAPI
from uvicorn.supervisors import Multiprocess

from backoffice.log import configure_logging
from backoffice.main import create_app
from backoffice.server_limits import limited_protocol
from backoffice.settings import Settings

logger = logging.getLogger("backoffice.server")

WORKER_HEALTHCHECK_SECONDS = 30

SignalHandler = Callable[[int, FrameType | None], Any]


class Drain:
    """The SIGTERM handler of one serving process, put in front of uvicorn's own.

    The first SIGTERM marks the app draining and hands the signal to uvicorn only
    `DRAIN_SECONDS` later; a repeated SIGTERM (a process-group kill after the
    supervisor's) changes nothing, while SIGINT still stops at once.
    """

    def __init__(self, app: FastAPI, seconds: float, uvicorn_handler: SignalHandler) -> None:
        self.app = app
        self.seconds = seconds
        self.uvicorn_handler = uvicorn_handler

    def __call__(self, sig: int, frame: FrameType | None) -> None:
        if self.app.state.draining:
            return
        self.app.state.draining = True
        timer = threading.Timer(self.seconds, self.uvicorn_handler, args=(sig, frame))
        timer.daemon = True
        timer.start()


class ServedApp:
    """The app factory uvicorn calls in every worker process (it is pickled to them).

    uvicorn installs its signal handlers before it loads the app, so the factory can
    put the drain in front of them, the same way for one worker or many.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def __call__(self) -> FastAPI:
        configure_logging(self.settings)  # a spawned worker starts with none
        app = create_app(self.settings)
        if threading.current_thread() is not threading.main_thread():
            return app  # uvicorn handles no signals there either
        current = signal.getsignal(signal.SIGTERM)
        if self.settings.drain_seconds > 0 and callable(current):
            signal.signal(signal.SIGTERM, Drain(app, self.settings.drain_seconds, current))
        return app


class DrainingSupervisor(Multiprocess):
    """uvicorn's worker supervisor, which lets go of the listening socket on SIGTERM.

    The parent holds a copy of the socket the workers share; kept open, it would let
    the kernel accept connections after every worker stopped accepting, and reset them
    when the parent exits. Closed, the socket goes away with the last worker's copy.
    """

    def handle_term(self) -> None:
        for sock in self.sockets:
            sock.close()
        super().handle_term()


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    return {
        "host": settings.host,
        "port": settings.port,
        "proxy_headers": True,
        "forwarded_allow_ips": settings.forwarded_allow_ips,
        "timeout_graceful_shutdown": int(settings.graceful_shutdown_seconds),
        # A spawned worker imports the whole app before it answers the supervisor's
        # ping; on a busy machine that takes longer than uvicorn's 5 s, and the
        # supervisor would kill and respawn its workers forever.
        "timeout_worker_healthcheck": WORKER_HEALTHCHECK_SECONDS,
        "log_config": None,
        "access_log": False,
        "server_header": False,
        "timeout_keep_alive": settings.keepalive_timeout_seconds,
        # Head size, count and time, and open connections, capped before the app sees
        # a request (431, 408, 503).
        "http": limited_protocol(settings),
    }


FILE_HEADROOM = 64
"""Descriptors a worker needs besides client connections: pools, logs, the listener."""


def raise_file_limit(settings: Settings) -> None:
    """Let a worker hold `MAX_CONNECTIONS_PER_WORKER` sockets before it runs out of files.

    Out of descriptors, accept() fails and every new client is reset: the connection cap
    answers 503 only while the process can still accept. Workers inherit the limit.
    """
    needed = (
        settings.max_connections_per_worker
        + settings.db_pool_size
        + settings.db_max_overflow
        + FILE_HEADROOM
    )
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        allowed = needed if hard == resource.RLIM_INFINITY else min(hard, needed)
        resource.setrlimit(resource.RLIMIT_NOFILE, (allowed, hard))
        if allowed < needed:
            logger.warning(
                "open-file limit %d is below the %d that MAX_CONNECTIONS_PER_WORKER needs",
                allowed,
                needed,
            )


def serve(settings: Settings) -> None:
    raise_file_limit(settings)
    config = uvicorn.Config(
        ServedApp(settings),
        factory=True,
        workers=settings.web_concurrency,
        **uvicorn_options(settings),
    )
    if settings.web_concurrency == 1:
        uvicorn.Server(config).run()
        return
    DrainingSupervisor(config, sockets=[config.bind_socket()]).run()
