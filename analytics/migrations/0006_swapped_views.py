"""The large fine-grained views become rebuilt-and-swapped views (docs/decisions.md): the same
definitions, their rows in a table (``<name>_1``) read through a plain view of the old name, so
a refresh builds the next table beside it instead of diffing every row CONCURRENTLY. The other
coarse views made from them stay materialized views, now over the plain views, recreated
unchanged."""

from django.db import migrations

from analytics import viewdefs

# (name, definition, indexes: only those the selectors read; no refresh needs a unique key now)
SWAPPED = [
    ("analytics_recruiter_daily", viewdefs.RECRUITER_DAILY_V1, ["facility_id, occurred_date, actor"]),
    # small, but CONCURRENTLY's diff of its 90k rows cost three times its query
    ("analytics_recruiter_totals", viewdefs.RECRUITER_TOTALS_V1, ["grain, bucket"]),
    ("analytics_revenue_daily", viewdefs.REVENUE_DAILY_V1, ["facility_id, issued_date, placement_id"]),
    ("analytics_outreach_replies", viewdefs.OUTREACH_REPLIES_V1,
     ["facility_id, sent_date", "seconds_to_reply, sent_date"]),
    ("analytics_candidate_contacts", viewdefs.CANDIDATE_CONTACTS_V1,
     ["facility_id, sent_date"]),
    ("analytics_candidate_applications", viewdefs.CANDIDATE_APPLICATIONS_V1, ["candidate_id, applied_at"]),
    ("analytics_actor_days", viewdefs.ACTOR_DAYS_V1, ["local_date, actor, facility_id", "actor, local_date"]),
]  # fmt: skip

# The materialized views that read them (migration 0005), dropped and recreated around the change.
DEPENDENT = [
    ("analytics_revenue_days", viewdefs.REVENUE_DAYS_V1, "facility_id, issued_date, prev_date", ["issued_date"]),
    ("analytics_reply_histogram", viewdefs.REPLY_HISTOGRAM_V1, "sent_date, bucket", []),
    ("analytics_contact_firsts", viewdefs.CONTACT_FIRSTS_V1, "sent_date, prev_date, converted", []),
    ("analytics_actor_day_sets", viewdefs.ACTOR_DAY_SETS_V1, "local_date, facility_ids, unscoped, prev_date", []),
    ("analytics_actor_first_seen", viewdefs.ACTOR_FIRST_SEEN_V1, "actor, facility_id", []),
]

# Migrations 0004 and 0005 indexed the materialized views like this (for the way back).
MATERIALIZED_INDEXES = {
    "analytics_recruiter_daily": ("facility_id, occurred_date, actor", []),
    "analytics_recruiter_totals": ("grain, bucket, actor", []),
    "analytics_revenue_daily": ("facility_id, issued_date, placement_id", []),
    "analytics_outreach_replies": ("message_id", ["facility_id, sent_date"]),
    "analytics_candidate_contacts": ("candidate_id, facility_id, sent_date", ["facility_id, sent_date"]),
    "analytics_candidate_applications": ("application_id", ["candidate_id, applied_at"]),
    "analytics_actor_days": ("local_date, actor, facility_id", ["actor, local_date"]),
}


def materialized(name: str, definition: str, unique: str, indexes: list[str]) -> list[str]:
    return [
        f"CREATE MATERIALIZED VIEW {name} AS {definition}",
        f"CREATE UNIQUE INDEX {name}_key ON {name} ({unique}) NULLS NOT DISTINCT",
        *(f"CREATE INDEX {name}_{i} ON {name} ({columns})" for i, columns in enumerate(indexes)),
    ]


def swapped(name: str, definition: str, indexes: list[str]) -> list[str]:
    """What analytics.services.refresh builds on each refresh, as generation 1."""
    table = f"{name}_1"
    return [
        f"CREATE TABLE {table} AS {definition}",
        *(f"CREATE INDEX {table}_{i} ON {table} ({columns})" for i, columns in enumerate(indexes)),
        f"CREATE VIEW {name} AS SELECT * FROM {table}",  # noqa: S608 - fixed names
    ]


def forwards() -> list[str]:
    statements = [f"DROP MATERIALIZED VIEW {name}" for name, *_ in DEPENDENT]
    statements += [f"DROP MATERIALIZED VIEW {name}" for name, *_ in reversed(SWAPPED)]  # readers first
    for name, definition, indexes in SWAPPED:
        statements += swapped(name, definition, indexes)
    for name, definition, unique, indexes in DEPENDENT:
        statements += materialized(name, definition, unique, indexes)
    return statements


def backwards() -> list[str]:
    statements = [f"DROP MATERIALIZED VIEW {name}" for name, *_ in DEPENDENT]
    for name, definition, _ in SWAPPED:
        statements += [
            f"DROP VIEW {name}",
            f"DROP TABLE IF EXISTS {name}_1",
            f"DROP TABLE IF EXISTS {name}_2",
            *materialized(name, definition, *MATERIALIZED_INDEXES[name]),
        ]
    statements.append(
        "CREATE INDEX analytics_outreach_replies_seconds ON analytics_outreach_replies (seconds_to_reply, sent_date)"
    )
    for name, definition, unique, indexes in DEPENDENT:
        statements += materialized(name, definition, unique, indexes)
    return statements


class Migration(migrations.Migration):
    dependencies = [("analytics", "0005_coarse_views")]

    operations = [migrations.RunSQL(forwards(), backwards())]
