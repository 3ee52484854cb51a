"""The app under drill: a copy started the way `make run` starts it, and the means to hurt it.

The copy has its own VAR_DIR (var/drills/app: embedded PostgreSQL and Redis, logs, mail, report
files) and a free port, so it never meets a developer's `make run` or the test suite. It runs
with EVENT_BATCH_PAUSE_SECONDS, the fault-injection setting that holds each processing batch
open before it commits, so that a kill lands mid-batch, and a shorter REFRESH_RUN_STALE_SECONDS
(below); nothing else differs from `make run`.

Processes are found through /proc, from the `make` process down: supervisord, its programs
(web, worker, beat) and the worker's pool. The database is read with psycopg through the
embedded server's socket, as a person with psql would.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

from tests.drills.traffic import Answer, Api, Traffic

ROOT = Path(__file__).resolve().parents[2]
PY = ROOT / ".venv" / "bin" / "python"
DRILLS_DIR = ROOT / "var" / "drills"

# The first start of a fresh copy: initdb, every migration, a small demo history, the first
# refresh of the views, then every health check ok (the worker and beat heartbeats included).
START_SECONDS = 420
# Ctrl-C until `make run` has exited, the embedded servers stopped: what .ci/run's smoke run allows.
STOP_SECONDS = 60
# A program that dies is started again by supervisord within this (requirement: 10 s).
RESTART_SECONDS = 10
# EVENT_BATCH_PAUSE_SECONDS of the copy: each part of a processing batch (jobs and candidates,
# then the two facility lanes) waits this long before it commits, a window to kill it in.
BATCH_PAUSE_SECONDS = 2
# The demo history of the copy, as a fraction of seed_demo's: enough rows for every view and
# report to have data, little enough to seed in seconds.
SEED_SCALE = "0.02"
# REFRESH_RUN_STALE_SECONDS of the copy: a refresh run whose executor has given no sign of life
# for this long is settled and its view queued again. The default (120 s) would make the
# kill-mid-refresh drill alone take up to three minutes of CI's time box; the mechanism is the same.
REFRESH_STALE_SECONDS = 45
FACILITY = "MERCY-01"
PROCESSING_LOCK = 0x5A_E7E7  # events.services.processing.PROCESSING_LOCK (no Django imported here)

# Settings of the caller that must not leak into the copy (CI exports some for its own steps).
CLEARED = ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "CACHE_KEY_PREFIX", "CELERY_QUEUE", "TEST_RUN_ID",
           "HOST", "PORT", "WEB_PORT", "VAR_DIR", "WORKER_CONCURRENCY", "ADMIN_USERNAME", "EMAIL_URL", "MEDIA_ROOT",
           "SITE_URL", "DEBUG", "MAKEFLAGS", "MFLAGS", "MAKELEVEL")  # fmt: skip


# --- processes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Proc:
    pid: int
    ppid: int
    state: str
    cmdline: str


def process_table() -> dict[int, Proc]:
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # the name in parentheses may hold spaces
        table[int(entry.name)] = Proc(int(entry.name), int(fields[1]), fields[0], cmdline)
    return table


def alive(pid: int) -> bool:
    """Running, not a zombie waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def descendants(root: int, table: dict[int, Proc] | None = None) -> list[Proc]:
    table = table or process_table()
    children: dict[int, list[Proc]] = {}
    for proc in table.values():
        children.setdefault(proc.ppid, []).append(proc)
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child.pid)
    return found


def _environ(pid: int) -> dict[str, str]:
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return {}
    return dict(item.split("=", 1) for item in raw.decode(errors="replace").split("\0") if "=" in item)


def _socket_inodes(pid: int) -> set[int]:
    inodes = set()
    fd_dir = Path(f"/proc/{pid}/fd")
    try:
        links = [os.readlink(fd) for fd in fd_dir.iterdir()]
    except OSError:
        return inodes
    for link in links:
        if link.startswith("socket:["):
            inodes.add(int(link[8:-1]))
    return inodes


def wait_until(condition: Callable[[], object], timeout: float, interval: float = 0.2) -> tuple[object, float]:
    """Poll ``condition``; return (its last value, seconds waited). Falsy value: timed out."""
    started = time.monotonic()
    while True:
        value = condition()
        waited = time.monotonic() - started
        if value or waited > timeout:
            return value, waited
        time.sleep(interval)


# --- the copy --------------------------------------------------------------------------------


class DrillApp:
    def __init__(self, *, var_dir: Path, port: int) -> None:
        self.var_dir = var_dir
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.log_path = DRILLS_DIR / "app.log"
        self.admin_password = secrets.token_urlsafe(16)
        self.process: subprocess.Popen | None = None
        self.seen: dict[int, str] = {}  # every process of the copy seen so far: pid -> command line
        self.started_in = 0.0
        self.admin: Api | None = None
        self.sender: Api | None = None

    # -- life cycle

    def start(self) -> None:
        self._forget_previous()
        self.var_dir.mkdir(parents=True)
        env = {key: value for key, value in os.environ.items() if key not in CLEARED}
        env.update(
            ADMIN_PASSWORD=self.admin_password,
            EVENT_BATCH_PAUSE_SECONDS=str(BATCH_PAUSE_SECONDS),
            REFRESH_RUN_STALE_SECONDS=str(REFRESH_STALE_SECONDS),
            MEDIA_ROOT=str(self.var_dir / "media"),
            EMAIL_URL=f"filemail:///{self.var_dir / 'mail'}",  # django-environ: an absolute path after ///
        )
        log = open(self.log_path, "wb")  # noqa: SIM115 - the child writes to it for the whole session
        started = time.monotonic()
        self.process = subprocess.Popen(
            ["make", "--no-print-directory", "run", f"PORT={self.port}", f"VAR_DIR={self.var_dir}",
             f"SEED_ARGS=--scale {SEED_SCALE}"],
            cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,  # a process group of its own, as a terminal gives `make run`: Ctrl-C is SIGINT to it
        )  # fmt: skip
        wait_until(lambda: self.healthy() or self.process.poll() is not None, START_SECONDS, interval=1)
        if not self.healthy():
            raise RuntimeError(
                f"the copy did not become healthy in {START_SECONDS}s: {self.health()}\n{self.log_tail()}"
            )
        self.started_in = time.monotonic() - started
        self.remember()
        traffic = Traffic()
        self.admin = Api(self.base, traffic, login=("admin", self.admin_password))
        key = self.admin.post("/api/v1/api-keys/", {"name": "drills", "facilities": [FACILITY]})
        if key.status != 201:
            raise RuntimeError(f"could not create an API key: {key.describe()}")
        self.sender = Api(self.base, traffic, api_key=key.body["key"])

    def interrupt(self) -> float:
        """Ctrl-C: SIGINT to the whole process group, as a terminal sends it. Seconds until
        `make run` exited (STOP_SECONDS + 1 if it did not)."""
        self.remember()
        started = time.monotonic()
        os.killpg(self.process.pid, signal.SIGINT)
        try:
            self.process.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            return STOP_SECONDS + 1
        return time.monotonic() - started

    def shutdown(self) -> None:
        """After the drills, whatever state they left: stop the copy and anything of it still running."""
        if self.process is not None and self.process.poll() is None:
            self.interrupt()
            if self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        self.services("stop")
        for pid in self.strays():
            os.kill(pid, signal.SIGKILL)

    def _forget_previous(self) -> None:
        """An earlier drill run that did not finish may have left its servers under var_dir."""
        if self.var_dir.exists():
            self.services("stop")
            for pid in self.strays():
                os.kill(pid, signal.SIGKILL)
            shutil.rmtree(self.var_dir)
        DRILLS_DIR.mkdir(parents=True, exist_ok=True)

    def log_tail(self, lines: int = 60) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def log_since(self, offset: int) -> str:
        with open(self.log_path, "rb") as handle:
            handle.seek(offset)
            return handle.read().decode(errors="replace")

    def log_size(self) -> int:
        return self.log_path.stat().st_size

    # -- processes

    def remember(self) -> None:
        if self.process is not None:
            for proc in descendants(self.process.pid):
                self.seen.setdefault(proc.pid, proc.cmdline)

    def supervisord(self) -> int | None:
        for proc in descendants(self.process.pid):
            # `python .venv/bin/supervisord ...`; the launcher's own command line only mentions it
            if any(Path(word).name == "supervisord" for word in proc.cmdline.split()[:2]):
                return proc.pid
        return None

    def programs(self) -> dict[str, int]:
        """The main process of web, worker and beat, as supervisord's children."""
        table = process_table()
        parent = self.supervisord()
        found = {}
        for proc in table.values():
            if proc.ppid != parent or not alive(proc.pid):
                continue
            if "gunicorn" in proc.cmdline:
                found["web"] = proc.pid
            elif "celery" in proc.cmdline and " worker " in proc.cmdline:
                found["worker"] = proc.pid
            elif "celery" in proc.cmdline and " beat " in proc.cmdline:
                found["beat"] = proc.pid
        self.remember()
        return found

    def pool(self) -> list[int]:
        """The worker's pool processes (prefork children of its main process)."""
        worker = self.programs().get("worker")
        return [proc.pid for proc in process_table().values() if proc.ppid == worker and alive(proc.pid)]

    def wait_restarted(self, name: str, old_pid: int) -> float | None:
        """Seconds until supervisord runs ``name`` again under a new pid; None if not within
        RESTART_SECONDS (and a little more, to tell slow from never)."""
        pid, waited = wait_until(lambda: (self.programs().get(name) or old_pid) != old_pid, RESTART_SECONDS + 20)
        return waited if pid else None

    def client_of_backend(self, backend_pid: int) -> int | None:
        """The process at the other end of a PostgreSQL backend's socket: the worker process that
        opened the session. `ss` pairs each unix socket with its peer."""
        own = _socket_inodes(backend_pid)
        try:
            listing = subprocess.run(["ss", "-xn"], capture_output=True, text=True, check=True).stdout
        except (OSError, subprocess.CalledProcessError):
            return None
        peers = set()
        for line in listing.splitlines()[1:]:
            fields = line.split()
            if len(fields) >= 8 and fields[5].isdigit() and int(fields[5]) in own and fields[7].isdigit():
                peers.add(int(fields[7]))
        for proc in descendants(self.process.pid):
            if peers & _socket_inodes(proc.pid):
                return proc.pid
        return None

    def strays(self) -> list[int]:
        """Processes of the copy still running: any process seen under `make run`, anything
        started with this VAR_DIR in its environment, the embedded PostgreSQL and Redis."""
        found = {pid for pid, cmdline in self.seen.items() if alive(pid) and _cmdline(pid) == cmdline}
        marker = str(self.var_dir)
        for proc in process_table().values():
            if proc.pid != os.getpid() and alive(proc.pid) and (
                marker in proc.cmdline or _environ(proc.pid).get("VAR_DIR") == marker
            ):  # fmt: skip
                found.add(proc.pid)
        for pid_file in (self.var_dir / "pg" / "postmaster.pid", self.var_dir / "redis" / "redis.pid"):
            try:
                pid = int(pid_file.read_text().split()[0])
            except (OSError, ValueError, IndexError):
                continue
            if alive(pid):
                found.add(pid)
        found.discard(os.getpid())
        return sorted(found)

    # -- embedded services

    def services(self, action: str) -> str:
        """`python -m config.embedded start|stop` for this copy's VAR_DIR."""
        env = {key: value for key, value in os.environ.items() if key not in CLEARED}
        env["VAR_DIR"] = str(self.var_dir)
        done = subprocess.run([str(PY), "-m", "config.embedded", action], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=120)  # fmt: skip
        return done.stdout + done.stderr

    def stop_postgres(self) -> None:
        self._embedded("stop_postgres")

    def stop_redis(self) -> None:
        self._embedded("stop_redis")

    def _embedded(self, function: str) -> None:
        env = {key: value for key, value in os.environ.items() if key not in CLEARED}
        env["VAR_DIR"] = str(self.var_dir)
        subprocess.run([str(PY), "-c", f"from config import embedded; embedded.{function}()"], cwd=ROOT, env=env,
                       check=True, capture_output=True, timeout=120)  # fmt: skip

    def service_env(self) -> dict[str, str]:
        """The environment supervisord gives web, worker and beat (URLs of the embedded servers)."""
        env = _environ(self.supervisord())
        if "DATABASE_URL" not in env:
            raise RuntimeError("supervisord's environment has no DATABASE_URL")
        return env

    def manage(self, *args: str) -> str:
        done = subprocess.run([str(PY), "manage.py", *args], cwd=ROOT, env=self.service_env(), capture_output=True,
                              text=True, timeout=120)  # fmt: skip
        if done.returncode:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
        return done.stdout

    # -- the database

    def _socket_dir(self) -> str:
        return (self.var_dir / "pg" / "postmaster.pid").read_text().splitlines()[4]

    @contextmanager
    def db(self) -> Iterator[psycopg.Connection]:
        with psycopg.connect(host=self._socket_dir(), user="postgres", dbname="staffing", autocommit=True,
                             connect_timeout=5) as conn:  # fmt: skip
            yield conn

    def query(self, sql: str, params: tuple | list = ()) -> list[tuple]:
        with self.db() as conn:
            return conn.execute(sql, params).fetchall()

    def value(self, sql: str, params: tuple | list = ()) -> object:
        rows = self.query(sql, params)
        return rows[0][0] if rows else None

    # -- HTTP

    def health(self) -> Answer:
        return Api(self.base, Traffic()).get("/health/", timeout=10)

    def healthy(self) -> bool:
        answer = self.health()
        body = answer.body if isinstance(answer.body, dict) else {}
        return answer.status == 200 and body.get("status") == "ok" and set(body.get("checks", {}).values()) == {"ok"}


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def dump(value: object) -> str:
    return json.dumps(value, default=str)
