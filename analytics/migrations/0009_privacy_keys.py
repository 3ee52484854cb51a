"""Privacy keys in the views (docs/privacy.md): every count comes with the sum of the keys of the
records it counts. The installation's secret seed for keys of names and ids without a record row
(actors, events) is drawn here, once. Each view whose definition gains a key column is dropped and
built again from its V2 definition (readers first on the way down, then in refresh order)."""

from django.db import migrations

from analytics import ddl, viewdefs

M, S = "materialized", "swapped"

# (name, V1, V2, kind, unique key of a materialized view, other indexes), in refresh order.
CHANGED = [
    ("analytics_pipeline_cohort", viewdefs.PIPELINE_COHORT_V1, viewdefs.PIPELINE_COHORT_V2, M,
     "facility_id, applied_date, source, status, furthest_stage", []),
    ("analytics_hires", viewdefs.HIRES_V1, viewdefs.HIRES_V2, M, "application_id",
     ["facility_id, hired_date", "facility_id, applied_date"]),
    ("analytics_offers", viewdefs.OFFERS_V1, viewdefs.OFFERS_V2, M, "facility_id, offered_date, accepted", []),
    ("analytics_jobs", viewdefs.JOBS_V1, viewdefs.JOBS_V2, M, "job_id",
     ["facility_id, opened_date", "facility_id, filled_date"]),
    ("analytics_recruiter_daily", viewdefs.RECRUITER_DAILY_V1, viewdefs.RECRUITER_DAILY_V2, S, None,
     ["facility_id, occurred_date, actor"]),
    ("analytics_recruiter_totals", viewdefs.RECRUITER_TOTALS_V1, viewdefs.RECRUITER_TOTALS_V2, S, None,
     ["grain, bucket"]),
    ("analytics_compliance_daily", viewdefs.COMPLIANCE_DAILY_V1, viewdefs.COMPLIANCE_DAILY_V2, M,
     "facility_id, checked_date, status, severity, expires_on", []),
    ("analytics_revenue_daily", viewdefs.REVENUE_DAILY_V1, viewdefs.REVENUE_DAILY_V2, S, None,
     ["facility_id, issued_date, placement_id"]),
    ("analytics_revenue_days", viewdefs.REVENUE_DAYS_V1, viewdefs.REVENUE_DAYS_V2, M,
     "facility_id, issued_date, prev_date", ["issued_date"]),
    ("analytics_placements", viewdefs.PLACEMENTS_V1, viewdefs.PLACEMENTS_V2, M, "placement_id",
     ["facility_id, start_date"]),
    ("analytics_outreach_daily", viewdefs.OUTREACH_DAILY_V1, viewdefs.OUTREACH_DAILY_V2, M,
     "facility_id, sent_date, channel", []),
    ("analytics_outreach_replies", viewdefs.OUTREACH_REPLIES_V1, viewdefs.OUTREACH_REPLIES_V2, S, None,
     ["facility_id, sent_date", "seconds_to_reply, sent_date"]),
    ("analytics_reply_histogram", viewdefs.REPLY_HISTOGRAM_V1, viewdefs.REPLY_HISTOGRAM_V2, M,
     "sent_date, bucket", []),
    ("analytics_candidate_contacts", viewdefs.CANDIDATE_CONTACTS_V1, viewdefs.CANDIDATE_CONTACTS_V2, S, None,
     ["facility_id, sent_date"]),
    ("analytics_contact_firsts", viewdefs.CONTACT_FIRSTS_V1, viewdefs.CONTACT_FIRSTS_V2, M,
     "sent_date, prev_date, converted", []),
    ("analytics_candidate_skills", viewdefs.CANDIDATE_SKILLS_V1, viewdefs.CANDIDATE_SKILLS_V2, M,
     "skill, facility_id, registered_date", []),
    ("analytics_actor_days", viewdefs.ACTOR_DAYS_V1, viewdefs.ACTOR_DAYS_V2, S, None,
     ["local_date, actor, facility_id", "actor, local_date"]),
    ("analytics_actor_day_sets", viewdefs.ACTOR_DAY_SETS_V1, viewdefs.ACTOR_DAY_SETS_V2, M,
     "local_date, facility_ids, unscoped, prev_date", []),
    ("analytics_actor_first_seen", viewdefs.ACTOR_FIRST_SEEN_V1, viewdefs.ACTOR_FIRST_SEEN_V2, M,
     "actor, facility_id", []),
    ("analytics_event_types_daily", viewdefs.EVENT_TYPES_DAILY_V1, viewdefs.EVENT_TYPES_DAILY_V2, M,
     "local_date, facility_id, type", []),
]  # fmt: skip

SEED = [
    "CREATE TABLE analytics_privacy_seed (seed bigint NOT NULL)",
    "INSERT INTO analytics_privacy_seed SELECT ('x' || md5(gen_random_uuid()::text))::bit(64)::bigint",
]


def drop(name: str, kind: str) -> list[str]:
    return ddl.as_text(ddl.drop(name, swapped=kind != M, if_exists=True))


def create(name: str, definition: str, kind: str, unique: str | None, indexes: list[str]) -> list[str]:
    """As migrations 0004-0006 built them: a materialized view with the unique index REFRESH ...
    CONCURRENTLY needs, or generation 1 of a rebuilt-and-swapped view."""
    if kind == M:
        return ddl.as_text(ddl.materialized_create(name, definition, unique, indexes))
    return ddl.as_text(ddl.swapped_create(name, definition, indexes))


def rebuild(version: int) -> list[str]:
    statements = [statement for name, *_, kind, _, _ in reversed(CHANGED) for statement in drop(name, kind)]
    for name, v1, v2, kind, unique, indexes in CHANGED:
        statements += create(name, v2 if version == 2 else v1, kind, unique, indexes)
    return statements


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0008_recovery_schedule"),
        ("events", "0007_privacy_keys"),
    ]

    operations = [
        migrations.RunSQL(SEED, "DROP TABLE analytics_privacy_seed"),
        migrations.RunSQL(rebuild(2), rebuild(1)),
    ]
