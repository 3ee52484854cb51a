"""Each candidate-contact row says where the candidate applied within 30 days of its first message
(``applied_facilities``), so the conversion of any scope is read from the scope's first contact
rows, not searched per question; ``contact_firsts`` reads it too. Both views are dropped and built
again (the reader first on the way down)."""

from django.db import migrations

from analytics import viewdefs

CONTACTS, FIRSTS = "analytics_candidate_contacts", "analytics_contact_firsts"


def build(contacts: str, firsts: str) -> list[str]:
    return [
        f"DROP MATERIALIZED VIEW {FIRSTS}",
        f"DROP VIEW {CONTACTS}",
        f"DROP TABLE IF EXISTS {CONTACTS}_1",
        f"DROP TABLE IF EXISTS {CONTACTS}_2",
        f"CREATE TABLE {CONTACTS}_1 AS {contacts}",
        f"CREATE INDEX {CONTACTS}_1_0 ON {CONTACTS}_1 (facility_id, sent_date)",
        f"CREATE VIEW {CONTACTS} AS SELECT * FROM {CONTACTS}_1",  # noqa: S608 - fixed names
        f"CREATE MATERIALIZED VIEW {FIRSTS} AS {firsts}",
        f"CREATE UNIQUE INDEX {FIRSTS}_key ON {FIRSTS} (sent_date, prev_date, converted) NULLS NOT DISTINCT",
    ]


class Migration(migrations.Migration):
    dependencies = [("analytics", "0010_actor_spans")]

    operations = [
        migrations.RunSQL(
            build(viewdefs.CANDIDATE_CONTACTS_V3, viewdefs.CONTACT_FIRSTS_V3),
            build(viewdefs.CANDIDATE_CONTACTS_V2, viewdefs.CONTACT_FIRSTS_V2),
        ),
    ]
