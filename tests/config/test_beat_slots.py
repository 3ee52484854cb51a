"""Scheduled work is sent once per slot whatever the number of beat processes: a beat claims the
entry's slot in PostgreSQL before it sends, and two beats agree on what the slot is."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from celery import schedules
from django_celery_beat.clockedschedule import clocked
from django_redis import get_redis_connection

from accounts.models import BeatSlot
from config.beat import AlignedInterval, beat_slot_claim, slot_of
from tests.conftest import CeleryProcess, wait_for


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_two_beats_firing_a_crontab_entry_seconds_apart_fill_the_same_slot():
    every_minute = schedules.crontab(minute="*")

    first, second = (
        slot_of(every_minute, at("2026-03-02 07:30:00.004")),
        slot_of(every_minute, at("2026-03-02 07:30:04")),
    )

    assert first == second == at("2026-03-02 07:30")
    assert slot_of(every_minute, at("2026-03-02 07:31:00.2")) == at("2026-03-02 07:31")


def test_an_interval_entry_fills_the_multiple_of_its_period_it_fires_in():
    every_ten = schedules.schedule(timedelta(seconds=10))

    assert slot_of(every_ten, at("2026-03-02 07:30:20.01")) == slot_of(every_ten, at("2026-03-02 07:30:23"))
    assert slot_of(every_ten, at("2026-03-02 07:30:23")) == at("2026-03-02 07:30:20")
    assert slot_of(every_ten, at("2026-03-02 07:30:30")) == at("2026-03-02 07:30:30")
    assert slot_of(clocked(at("2026-03-02 09:15:30")), at("2026-03-02 09:15:31")) == at("2026-03-02 09:15:30")


def test_an_interval_fires_on_multiples_of_itself_whenever_beat_started():
    clock = [at("2026-03-02 07:30:07")]
    every_ten = AlignedInterval(timedelta(seconds=10), nowfun=lambda: clock[0])

    assert every_ten.is_due(at("2026-03-02 07:30:01")) == (False, 3)  # same multiple as the last run
    clock[0] = at("2026-03-02 07:30:10.5")
    due, wait = every_ten.is_due(at("2026-03-02 07:30:01"))
    assert due and wait == pytest.approx(9.5)


@pytest.mark.django_db
def test_a_slot_is_claimed_once():
    slot = at("2026-03-02 07:30")

    assert beat_slot_claim(name="Reports sweep", slot=slot) is True
    assert beat_slot_claim(name="Reports sweep", slot=slot) is False
    assert beat_slot_claim(name="Reports sweep", slot=slot + timedelta(minutes=1)) is True
    assert BeatSlot.objects.filter(name="Reports sweep").count() == 2


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_two_beats_send_each_slot_of_a_fast_entry_once(tmp_path, settings):
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    queue = f"{settings.CELERY_TASK_DEFAULT_QUEUE}-slots-{uuid.uuid4().hex[:6]}"  # no worker reads it
    name = f"Ping every 2 seconds {uuid.uuid4().hex[:6]}"
    every, _ = IntervalSchedule.objects.get_or_create(every=2, period="seconds")
    PeriodicTask.objects.create(name=name, task="ops.ping", interval=every, args=json.dumps(["slots"]), queue=queue)
    beats = [CeleryProcess("beat", "--loglevel", "INFO", "--pidfile=", log_path=tmp_path / f"beat-{n}.log")
             for n in range(2)]  # fmt: skip
    redis = get_redis_connection("default")
    try:
        wait_for(lambda: BeatSlot.objects.filter(name=name).count() >= 6, timeout=90, what="six slots of the entry")
        wait_for(lambda: all(name in beat.log() for beat in beats), timeout=30, what="both beats to fire the entry")
        time.sleep(1)
    except BaseException:
        for beat in beats:
            print(beat.log())
        raise
    finally:
        for beat in beats:
            beat.stop()
    messages = [json.loads(raw) for raw in redis.lrange(queue, 0, -1)]
    redis.delete(queue)

    sent = [message["headers"]["beat_slot"] for message in messages]
    assert len(sent) >= 6
    assert len(sent) == len(set(sent)), sorted(sent)  # no slot sent twice
    claimed = {slot.isoformat() for slot in BeatSlot.objects.filter(name=name).values_list("slot", flat=True)}
    assert set(sent) <= claimed
    logs = "".join(beat.log() for beat in beats)
    assert "was sent by another beat" in logs  # both fired the entry; the second beat stood back
