"""gunicorn settings of the web process, for `make run` (Procfile), production, the live-server
tests and the benchmarks: ``gunicorn --config config/gunicorn.py --bind HOST:PORT``.

The shape comes from the environment: ``WEB_WORKERS`` processes of ``WEB_THREADS`` threads.

Each worker listens on a socket of its own on the same port (``SO_REUSEPORT``), and the kernel
spreads new connections evenly over them. With one shared socket, the workers race to accept,
and a keep-alive connection stays with its winner for its life. Under 200 clients, three
workers held 34, 68 and 98 connections, and the busiest one's callers waited three times as
long as the least busy one's. With a socket each they held 65, 67 and 68. The price is that a
second server started on the same port by mistake joins in instead of failing to bind: the
Procfile and the deployment must start exactly one (docs/decisions.md).

Closing each connection after its answer would give one fair queue too. But gunicorn's gthread
worker waits, in its event loop, for the client to close its side, and under load it served
about a quarter fewer requests.
"""

import gc
import os

wsgi_app = "config.wsgi"
worker_class = "gthread"
workers = int(os.environ.get("WEB_WORKERS", "3"))
threads = int(os.environ.get("WEB_THREADS", "4"))
reuse_port = True
backlog = 2048
timeout = int(os.environ.get("WEB_TIMEOUT", "120"))
graceful_timeout = 10


def post_fork(server, worker) -> None:
    """Each worker leads a session of its own. Linux's autogroup scheduler shares the CPU equally
    between sessions, and every PostgreSQL backend starts one: with the workers in the master's
    session, all the web workers together got what one backend got, and a refresh running in
    several backends on the same host took most of the cores from the readers. The master still
    stops its workers (by pid), and a worker whose master is gone exits."""
    if os.environ.get("WEB_SHARED_SESSION") != "1":  # 1: the old behaviour, for comparison
        os.setsid()


def post_worker_init(worker) -> None:
    """The objects made while the worker loaded the app (modules, settings, URL patterns, the
    schema) live as long as the worker: they are moved out of the garbage collector's sight. A
    full collection, which the allocations of a few dozen KPI answers set off, scanned ~170k of
    them and stopped the request it fell in for ~90 ms; with them frozen it takes 0.5 ms."""
    gc.collect()
    gc.freeze()
