"""Fewer index writes per event processed or received.

- The ``varchar_pattern_ops`` ("_like") index Django adds beside each unique ``external_id``
  serves only ``LIKE 'prefix%'``, which nothing asks: lookups by id use the unique index, and
  searches (``icontains``, the admin's ``=``) use neither. Every record written paid for it.
- The queue's single-column facility index is served by ``queue_facility_state`` (same leading
  column).
- Applications are updated as their status moves; with room left on each page (fillfactor 80)
  most of those updates stay on the page and write no index entry (HOT). Only new pages get it.

Indexes are dropped CONCURRENTLY (writers are not blocked), so this migration is not atomic.
"""

from django.db import migrations, models
from psycopg import sql

LIKE_INDEXES = [  # (table, index name as Django created it)
    ("events_application", "events_application_external_id_f6c3fbf4_like"),
    ("events_candidate", "events_candidate_external_id_365daae7_like"),
    ("events_compliancecheck", "events_compliancecheck_external_id_9f2dad2f_like"),
    ("events_invoice", "events_invoice_external_id_0a229b86_like"),
    ("events_job", "events_job_external_id_106855e0_like"),
    ("events_outreachmessage", "events_outreachmessage_external_id_2045b30d_like"),
    ("events_placement", "events_placement_external_id_dc4463cb_like"),
]
QUEUE_FACILITY_INDEX = "events_eventqueueentry_facility_id_2638eb6d"


class Migration(migrations.Migration):
    atomic = False  # DROP INDEX CONCURRENTLY runs outside a transaction

    dependencies = [
        ("accounts", "0002_roles_and_append_only_audit"),
        ("events", "0005_fewer_record_indexes"),
    ]

    operations = [
        *[
            migrations.RunSQL(
                sql.SQL("DROP INDEX CONCURRENTLY IF EXISTS {}").format(sql.Identifier(name)).as_string(),
                reverse_sql=sql.SQL(
                    "CREATE INDEX CONCURRENTLY IF NOT EXISTS {} ON {} (external_id varchar_pattern_ops)"
                )
                .format(sql.Identifier(name), sql.Identifier(table))
                .as_string(),
            )
            for table, name in LIKE_INDEXES
        ],
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    sql.SQL("DROP INDEX CONCURRENTLY IF EXISTS {}")
                    .format(sql.Identifier(QUEUE_FACILITY_INDEX))
                    .as_string(),
                    reverse_sql=sql.SQL(
                        'CREATE INDEX CONCURRENTLY IF NOT EXISTS {} ON "events_eventqueueentry" ("facility_id")'
                    )
                    .format(sql.Identifier(QUEUE_FACILITY_INDEX))
                    .as_string(),
                ),
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="eventqueueentry",
                    name="facility",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=models.deletion.PROTECT,
                        related_name="+",
                        to="accounts.facility",
                    ),
                ),
            ],
        ),
        migrations.RunSQL(
            "ALTER TABLE events_application SET (fillfactor = 80)",
            reverse_sql="ALTER TABLE events_application RESET (fillfactor)",
        ),
    ]
