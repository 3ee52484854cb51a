"""Coarse views over the fine ones, so a year of every facility reads thousands of rows, not
hundreds of thousands (docs/kpis.md says how each keeps the answers exact)."""

from django.db import migrations

from analytics import viewdefs


def create(name: str, definition: str, unique: str, *indexes: str) -> migrations.RunSQL:
    """A materialized view with the unique index REFRESH ... CONCURRENTLY needs (NULLs count
    as equal in it, since some keys are optional)."""
    statements = [
        f"CREATE MATERIALIZED VIEW {name} AS {definition}",
        f"CREATE UNIQUE INDEX {name}_key ON {name} ({unique}) NULLS NOT DISTINCT",
        *(f"CREATE INDEX {name}_{i} ON {name} ({columns})" for i, columns in enumerate(indexes)),
    ]
    return migrations.RunSQL(statements, f"DROP MATERIALIZED VIEW IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("analytics", "0004_area_views")]

    operations = [
        create("analytics_recruiter_totals", viewdefs.RECRUITER_TOTALS_V1, "grain, bucket, actor"),
        create("analytics_revenue_days", viewdefs.REVENUE_DAYS_V1, "facility_id, issued_date, prev_date",
               "issued_date"),
        create("analytics_reply_histogram", viewdefs.REPLY_HISTOGRAM_V1, "sent_date, bucket"),
        create("analytics_contact_firsts", viewdefs.CONTACT_FIRSTS_V1, "sent_date, prev_date, converted"),
        create("analytics_actor_day_sets", viewdefs.ACTOR_DAY_SETS_V1,
               "local_date, facility_ids, unscoped, prev_date"),
        create("analytics_actor_first_seen", viewdefs.ACTOR_FIRST_SEEN_V1, "actor, facility_id"),
        # the exact median within one response-time bucket is read in this order
        migrations.RunSQL(
            "CREATE INDEX analytics_outreach_replies_seconds ON analytics_outreach_replies "
            "(seconds_to_reply, sent_date)",
            "DROP INDEX IF EXISTS analytics_outreach_replies_seconds",
        ),
    ]  # fmt: skip
