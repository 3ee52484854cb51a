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
    dependencies = [("analytics", "0003_refresh_schedules")]

    operations = [
        create("analytics_compliance_daily", viewdefs.COMPLIANCE_DAILY_V1,
               "facility_id, checked_date, status, severity, expires_on"),
        create("analytics_revenue_daily", viewdefs.REVENUE_DAILY_V1, "facility_id, issued_date, placement_id"),
        create("analytics_placements", viewdefs.PLACEMENTS_V1, "placement_id", "facility_id, start_date"),
        create("analytics_outreach_daily", viewdefs.OUTREACH_DAILY_V1, "facility_id, sent_date, channel"),
        create("analytics_outreach_replies", viewdefs.OUTREACH_REPLIES_V1, "message_id", "facility_id, sent_date"),
        create("analytics_candidate_contacts", viewdefs.CANDIDATE_CONTACTS_V1, "candidate_id, facility_id, sent_date",
               "facility_id, sent_date"),
        create("analytics_candidate_applications", viewdefs.CANDIDATE_APPLICATIONS_V1, "application_id",
               "candidate_id, applied_at"),
        create("analytics_candidate_skills", viewdefs.CANDIDATE_SKILLS_V1, "skill, facility_id, registered_date"),
        create("analytics_recruiter_daily", viewdefs.RECRUITER_DAILY_V1, "facility_id, occurred_date, actor"),
        create("analytics_actor_days", viewdefs.ACTOR_DAYS_V1, "local_date, actor, facility_id", "actor, local_date"),
        create("analytics_event_types_daily", viewdefs.EVENT_TYPES_DAILY_V1, "local_date, facility_id, type"),
    ]  # fmt: skip
