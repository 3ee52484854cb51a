from django.db import migrations

from analytics import viewdefs


def create(name: str, definition: str, unique: str, *indexes: str) -> migrations.RunSQL:
    """A materialized view with the unique index REFRESH ... CONCURRENTLY needs."""
    statements = [
        f"CREATE MATERIALIZED VIEW {name} AS {definition}",
        f"CREATE UNIQUE INDEX {name}_key ON {name} ({unique})",
        *(f"CREATE INDEX {name}_{i} ON {name} ({columns})" for i, columns in enumerate(indexes)),
    ]
    return migrations.RunSQL(statements, f"DROP MATERIALIZED VIEW IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0001_refresh_runs"),
        ("events", "0003_event_queue"),
    ]

    operations = [
        create(
            "analytics_pipeline_cohort",
            viewdefs.PIPELINE_COHORT_V1,
            "facility_id, applied_date, source, status, furthest_stage",
        ),
        create(
            "analytics_hires",
            viewdefs.HIRES_V1,
            "application_id",
            "facility_id, hired_date",
            "facility_id, applied_date",
        ),  # fmt: skip
        create("analytics_offers", viewdefs.OFFERS_V1, "facility_id, offered_date, accepted"),
        create("analytics_jobs", viewdefs.JOBS_V1, "job_id", "facility_id, opened_date", "facility_id, filled_date"),
    ]
