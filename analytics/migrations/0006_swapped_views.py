"""The large fine-grained views become rebuilt-and-swapped views (docs/decisions.md): the same
definitions, their rows in a table (``<name>_1``) read through a plain view of the old name, so
a refresh builds the next table beside it instead of diffing every row CONCURRENTLY. The other
coarse views made from them stay materialized views, now over the plain views, recreated
unchanged."""

from django.db import migrations

from analytics import ddl, viewdefs

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
    return ddl.as_text(ddl.materialized_create(name, definition, unique, indexes))


def swapped(name: str, definition: str, indexes: list[str]) -> list[str]:
    """What analytics.services.refresh builds on each refresh, as generation 1."""
    return ddl.as_text(ddl.swapped_create(name, definition, indexes))


def drop_materialized(name: str) -> list[str]:
    return ddl.as_text(ddl.drop(name, swapped=False))


def forwards() -> list[str]:
    statements = [statement for name, *_ in DEPENDENT for statement in drop_materialized(name)]
    statements += [
        statement for name, *_ in reversed(SWAPPED) for statement in drop_materialized(name)
    ]  # readers first
    for name, definition, indexes in SWAPPED:
        statements += swapped(name, definition, indexes)
    for name, definition, unique, indexes in DEPENDENT:
        statements += materialized(name, definition, unique, indexes)
    return statements


def backwards() -> list[str]:
    statements = [statement for name, *_ in DEPENDENT for statement in drop_materialized(name)]
    for name, definition, _ in SWAPPED:
        statements += [
            *ddl.as_text(ddl.drop(name, swapped=True)),
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
