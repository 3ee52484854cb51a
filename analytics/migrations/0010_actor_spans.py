"""``actor_spans`` replaces ``actor_first_seen``: per actor and facility (or none), the days active
as a multirange, so the distinct actors of a scope narrower than every facility are counted from
one row per actor and facility instead of one per actor-day (docs/decisions.md, "Distinct
counts of a narrower scope")."""

from django.db import migrations

from analytics import viewdefs

SPANS = [
    f"CREATE MATERIALIZED VIEW analytics_actor_spans AS {viewdefs.ACTOR_SPANS_V1}",
    "CREATE UNIQUE INDEX analytics_actor_spans_key ON analytics_actor_spans (actor, facility_id) NULLS NOT DISTINCT",
    "CREATE INDEX analytics_actor_spans_0 ON analytics_actor_spans (facility_id)",
]
FIRST_SEEN = [
    f"CREATE MATERIALIZED VIEW analytics_actor_first_seen AS {viewdefs.ACTOR_FIRST_SEEN_V2}",
    "CREATE UNIQUE INDEX analytics_actor_first_seen_key ON analytics_actor_first_seen (actor, facility_id) "
    "NULLS NOT DISTINCT",
]


class Migration(migrations.Migration):
    dependencies = [("analytics", "0009_privacy_keys")]

    operations = [
        migrations.RunSQL(
            ["DROP MATERIALIZED VIEW analytics_actor_first_seen", *SPANS],
            ["DROP MATERIALIZED VIEW analytics_actor_spans", *FIRST_SEEN],
        ),
    ]
