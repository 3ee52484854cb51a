"""Against real processes: a running web server and a real Celery worker."""

import json
import subprocess
import threading
import urllib.error
import urllib.request
import uuid

import pytest
from django.core.cache import cache
from django.db import connection

from events.models import Application, ApplicationStatusChange, Event, EventQueueEntry
from events.services.processing import PROCESSING_LOCK
from tests.conftest import CeleryProcess, wait_for
from tests.events.helpers import Stream
from tests.factories import make_api_key

pytestmark = pytest.mark.django_db(transaction=True)


def post(url: str, key: str, body) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    request.add_header("Content-Type", "application/json")
    request.add_header("Authorization", f"Api-Key {key}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_twenty_concurrent_identical_posts_store_one_event(web_process, facility_a):
    key = make_api_key("ats", [facility_a])
    event = Stream("MERCY-01").job("J-1")
    answers: list[tuple[int, dict]] = []
    barrier = threading.Barrier(20)

    def send() -> None:
        barrier.wait()
        answers.append(post(f"{web_process.url}/api/v1/events/", key, event))

    threads = [threading.Thread(target=send) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    statuses = sorted(body["results"][0]["status"] for _, body in answers)
    assert statuses == ["created"] + ["duplicate"] * 19
    assert Event.objects.filter(id=event["id"]).count() == 1


def _processor_busy() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = %s AND granted "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            [PROCESSING_LOCK],
        )
        return cursor.fetchone()[0] > 0


def test_a_worker_killed_mid_batch_loses_and_repeats_nothing(tmp_path, facility_a, settings):
    from accounts.principals import Actor
    from events.services.ingestion import events_ingest
    from tests.factories import make_user

    s = Stream("MERCY-01")
    stream = [s.job("J-1"), s.candidate("C-1"), s.application("A-1", "J-1", "C-1")]
    stream += [s.status("A-1", status, day) for day, status in enumerate(["screening", "interviewing", "offered"], 2)]
    cache.set("events:processing:requested", 1, timeout=120)  # keep the shared worker out of this
    events_ingest(by=Actor(principal=make_user("ingester", "admin")), items=stream)
    queue = f"{settings.CELERY_TASK_DEFAULT_QUEUE}-kill-{uuid.uuid4().hex[:6]}"
    worker = CeleryProcess(
        "worker", "--pool", "prefork", "--concurrency", "1", "-Q", queue, "--without-mingle", "--without-gossip",
        "--hostname", f"kill-{uuid.uuid4().hex[:6]}@%h", log_path=tmp_path / "worker.log",
        env={"EVENT_BATCH_PAUSE_SECONDS": "4"},
    )  # fmt: skip
    try:
        from config.celery_app import app

        app.send_task("events.process_pending", queue=queue)
        wait_for(_processor_busy, timeout=60, what="the worker to start a batch")
        children = subprocess.run(["pgrep", "-P", str(worker.process.pid)], capture_output=True, text=True)
        child = int(children.stdout.split()[0])
        subprocess.run(["kill", "-9", str(child)], check=True)  # mid-batch, before its commit

        wait_for(
            lambda: Event.objects.with_status("processed").count() == len(stream),
            timeout=90,
            what="the redelivered task to apply the batch",
        )
    except BaseException:
        print(worker.log())
        raise
    finally:
        worker.stop()
    assert "WorkerLostError" in worker.log() or "SIGKILL" in worker.log()
    assert not EventQueueEntry.objects.exists()  # every event applied, none waiting or failed
    assert ApplicationStatusChange.objects.count() == 3
    assert Application.objects.get(external_id="A-1").status == "offered"
