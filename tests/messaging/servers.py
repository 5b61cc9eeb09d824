"""Real servers for the cluster, fault and browser tests and for bench/ws.py: ASGI worker processes (daphne)
on free loopback ports, a throw-away Redis, and a scratch database that is never the site's own.

Scratch database: a new PostgreSQL database next to DATABASE_URL's (cluster profile), else a SQLite file in
a temporary directory; migrated with ``manage.py migrate`` and dropped afterwards.
"""

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
DAPHNE = str(Path(PYTHON).with_name("daphne"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before listening on {port}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def base_env(**extra: str) -> dict:
    """The environment of a server or helper process: production settings, no test overlay."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_SETTINGS_MODULE"))}
    env.update(
        DJANGO_SETTINGS_MODULE="marketplace.settings",
        PYTHONPATH=str(ROOT),
        LOG_LEVEL="WARNING",
        ALLOWED_HOSTS="127.0.0.1,localhost",
    )
    env.pop("REDIS_URL", None)
    env.update(extra)
    return env


class ScratchDatabase:
    """A database of its own: PostgreSQL beside ``postgres_url`` when given, else SQLite in a temp dir."""

    def __init__(self, postgres_url: str = ""):
        self.tmp = Path(tempfile.mkdtemp(prefix="msg-scratch-"))
        self.postgres_url = postgres_url
        if postgres_url:
            self.name = f"msg_scratch_{uuid.uuid4().hex[:12]}"
            parts = urlsplit(postgres_url)
            self.url = urlunsplit(parts._replace(path=f"/{self.name}"))
            self._admin(f'CREATE DATABASE "{self.name}"')
        else:
            self.url = f"sqlite:///{self.tmp / 'scratch.sqlite3'}"

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.postgres_url, autocommit=True) as conn:
            conn.execute(sql)

    def env(self, **extra: str) -> dict:
        return base_env(DATABASE_URL=self.url, MEDIA_ROOT=str(self.tmp / "media"), VAR_DIR=str(self.tmp), **extra)

    def migrate(self) -> None:
        command = [PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"]
        subprocess.run(command, cwd=ROOT, env=self.env(), check=True)  # noqa: S603

    def seed(self, spec: dict) -> dict:
        """Users, organisations, conversations and logged-in sessions (tests/messaging/seed.py)."""
        done = subprocess.run(  # noqa: S603
            [PYTHON, "-m", "tests.messaging.seed"],
            cwd=ROOT,
            env=self.env(),
            input=json.dumps(spec),
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(done.stdout.strip().splitlines()[-1])

    def drop(self) -> None:
        if self.postgres_url:
            self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        shutil.rmtree(self.tmp, ignore_errors=True)


class RedisServer:
    """A throw-away redis-server on a free loopback port; stop() and start() again on the same port."""

    def __init__(self):
        self.binary = shutil.which("redis-server")
        if not self.binary:
            raise FileNotFoundError("redis-server")
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="msg-redis-"))
        self.process = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        options = ["--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(  # noqa: S603
            [self.binary, *options, "--dir", str(self.dir), "--logfile", str(self.dir / "redis.log")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, 10, self.process)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class AsgiWorker:
    """One daphne process serving marketplace.asgi on 127.0.0.1:<free port>."""

    def __init__(self, env: dict, name: str = "worker"):
        self.port = free_port()
        self.name = name
        self.log = Path(tempfile.mkstemp(prefix=f"msg-{name}-", suffix=".log")[1])
        self.process = subprocess.Popen(  # noqa: S603
            # A crowd connecting at once queues for the database; daphne's 5 s handshake limit is too short.
            [
                DAPHNE,
                "-b",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-v",
                "0",
                "--websocket_connect_timeout",
                "60",
                "marketplace.asgi:application",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
        )

    def wait(self) -> "AsgiWorker":
        try:
            wait_for_port(self.port, 90, self.process)
            self._wait_healthy()
        except Exception:
            self.stop()
            raise RuntimeError(f"{self.name} did not start:\n{self.log.read_text()[-3000:]}") from None
        return self

    def _wait_healthy(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{self.http}/healthz", timeout=5) as response:  # noqa: S310
                    if response.status == 200:
                        return
            except OSError:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.1)

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/live/"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def cleanup(self) -> None:
        self.stop()
        self.log.unlink(missing_ok=True)


def start_workers(env: dict, count: int) -> list[AsgiWorker]:
    """Start ``count`` workers at once (each takes seconds to import Django), then wait for all."""
    workers = [AsgiWorker(env, name=f"worker-{chr(65 + n)}") for n in range(count)]
    try:
        return [worker.wait() for worker in workers]
    except Exception:
        for worker in workers:
            worker.cleanup()
        raise


async def connect(worker: AsgiWorker, session_key: str, **kwargs):
    """A WebSocket client of ``worker`` logged in with the session, sending the site's own Origin."""
    from websockets.asyncio.client import connect as ws_connect

    return await ws_connect(
        worker.ws,
        origin=worker.http,
        additional_headers={"Cookie": f"sessionid={session_key}"},
        open_timeout=20,
        max_queue=None,
        **kwargs,
    )
