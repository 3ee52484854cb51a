"""The log becomes append-only: an event's status is where it is (in the queue: pending or
failed; out of it: processed), so applying a batch no longer rewrites log rows."""

import django.db.models.deletion
from django.db import migrations, models

# Dropping a column of a partitioned table is a catalog change: no rewrite, no long lock.
DROP_STATUS_COLUMNS = """
ALTER TABLE events_event
    DROP COLUMN status, DROP COLUMN attempts, DROP COLUMN last_error, DROP COLUMN next_attempt_at,
    DROP COLUMN processed_at;
"""

RESTORE_STATUS_COLUMNS = """
ALTER TABLE events_event
    ADD COLUMN status varchar(16) NOT NULL DEFAULT 'processed',
    ADD COLUMN attempts smallint NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    ADD COLUMN last_error text NOT NULL DEFAULT '',
    ADD COLUMN next_attempt_at timestamptz NULL,
    ADD COLUMN processed_at timestamptz NULL;
UPDATE events_event e SET status = q.state, attempts = q.attempts, last_error = q.last_error, next_attempt_at = q.due_at
FROM events_eventqueueentry q
WHERE e.category = 'recruiting' AND e.id = q.event_id AND e.occurred_at = q.occurred_at;
ALTER TABLE events_event ALTER COLUMN status DROP DEFAULT;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0003_event_queue"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL(DROP_STATUS_COLUMNS, RESTORE_STATUS_COLUMNS)],
            state_operations=[
                migrations.RemoveField(model_name="event", name="status"),
                migrations.RemoveField(model_name="event", name="attempts"),
                migrations.RemoveField(model_name="event", name="last_error"),
                migrations.RemoveField(model_name="event", name="next_attempt_at"),
                migrations.RemoveField(model_name="event", name="processed_at"),
            ],
        ),
        migrations.AddField(
            model_name="event",
            name="queue_entry",
            field=models.ForeignObject(
                from_fields=["id", "occurred_at"],
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="events.eventqueueentry",
                to_fields=["event_id", "occurred_at"],
            ),
        ),
        migrations.AddIndex(
            model_name="eventqueueentry",
            index=models.Index(
                condition=models.Q(("state", "failed")), fields=["occurred_at"], name="queue_failed_order"
            ),
        ),
    ]
