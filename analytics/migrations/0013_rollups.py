"""The pipeline views are kept up to date as events apply (docs/decisions.md, "Rollups"): their
rows become tables (rebuilt-and-swapped views, so a few buckets' rows can be replaced), the
record tables' statement triggers mark the buckets each change touches (analytics.marks), and
a refresh's rebuild counts what it finds different from the rows kept up to date."""

import django.db.models.functions.datetime
from django.db import migrations, models

from analytics import ddl, marks, viewdefs

# (name, definition, indexes of the swapped view; unique key and indexes of the materialized view
# it was, for the way back), in refresh order: hire_histogram reads hires.
CHANGED = [
    ("analytics_pipeline_cohort", viewdefs.PIPELINE_COHORT_V2, ["facility_id, applied_date"],
     "facility_id, applied_date, source, status, furthest_stage", []),
    ("analytics_hires", viewdefs.HIRES_V2,
     ["facility_id, applied_date", "facility_id, hired_date", "seconds_to_hire, hired_date", "hired_date"],
     "application_id", ["facility_id, hired_date", "facility_id, applied_date"]),
    ("analytics_hires_daily", viewdefs.HIRES_DAILY_V1, ["facility_id, hired_date"], "facility_id, hired_date", []),
    ("analytics_hire_histogram", viewdefs.HIRE_HISTOGRAM_V1, ["hired_date, bucket"], "hired_date, bucket", []),
    ("analytics_offers", viewdefs.OFFERS_V2, ["facility_id, offered_date"], "facility_id, offered_date, accepted", []),
    ("analytics_jobs", viewdefs.JOBS_V2, ["facility_id, opened_date", "facility_id, filled_date"], "job_id",
     ["facility_id, opened_date", "facility_id, filled_date"]),
]  # fmt: skip

# recruiter_daily's totals over every facility are recomputed for a few days at a time: by day.
RECRUITER_DAILY_BY_DAY = """
DO $$
BEGIN
    IF to_regclass('analytics_recruiter_daily_1') IS NOT NULL THEN
        CREATE INDEX IF NOT EXISTS analytics_recruiter_daily_1_1 ON analytics_recruiter_daily_1 (occurred_date);
    ELSE
        CREATE INDEX IF NOT EXISTS analytics_recruiter_daily_2_1 ON analytics_recruiter_daily_2 (occurred_date);
    END IF;
END
$$
"""
RECRUITER_DAILY_BY_DAY_DROP = """
DROP INDEX IF EXISTS analytics_recruiter_daily_1_1;
DROP INDEX IF EXISTS analytics_recruiter_daily_2_1;
"""


def forwards() -> list[str]:
    statements = []
    for name, *_ in reversed(CHANGED):  # readers first
        statements += ddl.as_text(ddl.drop(name, swapped=False))
    for name, definition, indexes, *_ in CHANGED:
        statements += ddl.as_text(ddl.swapped_create(name, definition, indexes))
    return [*statements, *ddl.as_text(marks.triggers_create(marks.MARKS_V1))]


def backwards() -> list[str]:
    statements = ddl.as_text(marks.triggers_drop(marks.MARKS_V1))
    for name, *_ in reversed(CHANGED):
        statements += ddl.as_text(ddl.drop(name, swapped=True))
    for name, definition, _, unique, indexes in CHANGED:
        statements += ddl.as_text(ddl.materialized_create(name, definition, unique, indexes))
    statements.append("CREATE INDEX analytics_hires_seconds ON analytics_hires (seconds_to_hire, hired_date)")
    return statements


class Migration(migrations.Migration):
    dependencies = [("analytics", "0012_hires_daily"), ("events", "0009_no_facility_moments")]

    operations = [
        migrations.CreateModel(
            name="StaleBucket",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("view", models.CharField(max_length=64)),
                ("facility_id", models.BigIntegerField(blank=True, null=True)),
                ("day", models.DateField()),
                ("marked_at", models.DateTimeField(db_default=django.db.models.functions.datetime.Now())),
            ],
            options={"indexes": [models.Index(fields=["view", "marked_at"], name="stale_bucket_view")]},
        ),
        migrations.AddField(
            model_name="refreshrun",
            name="differences",
            field=models.BigIntegerField(
                blank=True,
                help_text="rows the rebuild found different from the rows kept up to date as events applied (should "
                "be 0; empty for a view not kept up to date that way)",
                null=True,
            ),
        ),
        migrations.RunSQL(forwards(), backwards()),
        migrations.RunSQL(RECRUITER_DAILY_BY_DAY, RECRUITER_DAILY_BY_DAY_DROP),
    ]
