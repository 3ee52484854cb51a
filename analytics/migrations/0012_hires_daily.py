"""Hires per facility and local day, for the series (dashboard, trends); and, over every facility,
hires by day hired and whole days to hire, for the mean and exact median without reading every
hire (with the index that finds the value at a rank)."""

from django.db import migrations

from analytics import ddl, viewdefs

DAILY, HISTOGRAM = "analytics_hires_daily", "analytics_hire_histogram"


class Migration(migrations.Migration):
    dependencies = [("analytics", "0011_contact_conversions")]

    operations = [
        migrations.RunSQL(
            ddl.as_text([
                *ddl.materialized_create(DAILY, viewdefs.HIRES_DAILY_V1, "facility_id, hired_date", []),
                *ddl.materialized_create(HISTOGRAM, viewdefs.HIRE_HISTOGRAM_V1, "hired_date, bucket", []),
                ddl.index_create("analytics_hires_seconds", "analytics_hires", "seconds_to_hire, hired_date"),
            ]),
            ddl.as_text([
                *ddl.drop(HISTOGRAM, swapped=False),
                *ddl.drop(DAILY, swapped=False),
                ddl.index_drop("analytics_hires_seconds"),
            ]),
        ),
    ]  # fmt: skip
