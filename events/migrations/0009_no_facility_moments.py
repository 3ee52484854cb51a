from django.db import migrations

# Events of no facility (activity) count in every facility's active users. An hourly series of
# one facility reads them by moment, every one of a month's (37k of 46k rows on the benchmark's
# data): this partial index holds just those rows with the two columns the count needs, so they
# are read from the index alone instead of from ~8,000 pages of the log (analytics.selectors.hourly).
# Created on the partitioned table, it is built on every partition and on each new month's.
CREATE = """
CREATE INDEX events_event_no_facility_moments ON events_event (occurred_at) INCLUDE (actor)
WHERE facility_id IS NULL
"""
DROP = "DROP INDEX IF EXISTS events_event_no_facility_moments"


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0008_local_date_help"),
    ]

    operations = [migrations.RunSQL(CREATE, DROP)]
