"""Every record a KPI counts gets a privacy key: a random integer PostgreSQL draws when the row is
inserted (existing rows each draw their own as the column is added). docs/privacy.md."""

from django.db import migrations, models
from django.db.models.functions import Cast, Floor, Random

KEYED = ["application", "applicationstatuschange", "candidate", "compliancecheck", "invoice", "job",
         "outreachmessage", "placement"]  # fmt: skip


def privacy_key() -> models.IntegerField:
    return models.IntegerField(
        db_default=Cast(Floor(Random() * 2147483648), models.IntegerField()),
        editable=False,
        help_text="Random, fixed at creation; drives the consistent perturbation of counts.",
    )


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0006_lighter_writes"),
    ]

    operations = [migrations.AddField(model_name=name, name="privacy_key", field=privacy_key()) for name in KEYED]
