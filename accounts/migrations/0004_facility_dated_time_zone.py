"""Facilities remember the zone their records' local dates were computed in. Until now every
date was a day in REPORTING_TIME_ZONE, so that is where each facility starts: a facility in
another zone is re-dated (events.services.redating) by the first refresh or processing after
this migration."""

from django.conf import settings
from django.db import migrations, models

import accounts.models


def dated_in_reporting_zone(apps, schema_editor):
    apps.get_model("accounts", "Facility").objects.update(dated_time_zone=settings.REPORTING_TIME_ZONE)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_beat_slots")]

    operations = [
        migrations.AddField(
            model_name="facility",
            name="dated_time_zone",
            field=models.CharField(blank=True, editable=False, max_length=64),
        ),
        migrations.RunPython(dated_in_reporting_zone, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="facility",
            name="time_zone",
            field=models.CharField(
                choices=accounts.models._time_zone_choices,
                default="UTC",
                help_text="Its days, weeks, months and hours are counted in this zone. Changing it re-dates the facility's "
                "history in the background at once (before the next refresh at the latest); the KPIs show "
                "the new days once the views are refreshed.",
                max_length=64,
            ),
        ),
    ]
