"""Drop the single-column indexes of the records' foreign keys that a composite index led by
the same column already serves (facility on every record, application on the status history).
One index fewer per row written; lookups by these columns use the composite ones.

Only the indexes are dropped (CONCURRENTLY, so writers are not blocked): the foreign keys stay
as they are, with no re-validation of a large table, which an AlterField would do."""

import django.db.models.deletion
from django.db import migrations, models
from psycopg import sql

INDEXES = [  # (table, column, index name as Django created it)
    ("events_application", "facility_id", "events_application_facility_id_23d0c305"),
    ("events_applicationstatuschange", "application_id", "events_applicationstatuschange_application_id_d880b0e1"),
    ("events_applicationstatuschange", "facility_id", "events_applicationstatuschange_facility_id_d81ce184"),
    ("events_candidate", "facility_id", "events_candidate_facility_id_5aa4aab4"),
    ("events_compliancecheck", "facility_id", "events_compliancecheck_facility_id_8d5c87ae"),
    ("events_invoice", "facility_id", "events_invoice_facility_id_90c729f6"),
    ("events_job", "facility_id", "events_job_facility_id_77d897d4"),
    ("events_outreachmessage", "facility_id", "events_outreachmessage_facility_id_0365cd57"),
    ("events_placement", "facility_id", "events_placement_facility_id_1349fe85"),
]


class Migration(migrations.Migration):
    atomic = False  # DROP INDEX CONCURRENTLY runs outside a transaction

    dependencies = [
        ("accounts", "0002_roles_and_append_only_audit"),
        ("events", "0004_status_from_the_queue"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    sql.SQL("DROP INDEX CONCURRENTLY IF EXISTS {}").format(sql.Identifier(name)).as_string(),
                    reverse_sql=sql.SQL("CREATE INDEX CONCURRENTLY IF NOT EXISTS {} ON {} ({})")
                    .format(sql.Identifier(name), sql.Identifier(table), sql.Identifier(column))
                    .as_string(),
                )
                for table, column, name in INDEXES
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="application",
                    name="facility",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="accounts.facility",
                    ),
                ),
                migrations.AlterField(
                    model_name="applicationstatuschange",
                    name="application",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="history",
                        to="events.application",
                    ),
                ),
                migrations.AlterField(
                    model_name="applicationstatuschange",
                    name="facility",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="accounts.facility",
                    ),
                ),
                migrations.AlterField(
                    model_name="candidate",
                    name="facility",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="accounts.facility",
                    ),
                ),
                migrations.AlterField(
                    model_name="compliancecheck",
                    name="facility",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="accounts.facility",
                    ),
                ),
                migrations.AlterField(
                    model_name="invoice",
                    name="facility",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="accounts.facility",
                    ),
                ),
                migrations.AlterField(
                    model_name="job",
                    name="facility",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="accounts.facility",
                    ),
                ),
                migrations.AlterField(
                    model_name="outreachmessage",
                    name="facility",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="accounts.facility",
                    ),
                ),
                migrations.AlterField(
                    model_name="placement",
                    name="facility",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="accounts.facility",
                    ),
                ),
            ],
        ),
    ]
