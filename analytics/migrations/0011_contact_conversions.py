"""Each candidate-contact row says where the candidate applied within 30 days of its first message
(``applied_facilities``), so the conversion of any scope is read from the scope's first contact
rows, not searched per question; ``contact_firsts`` reads it too. Both views are dropped and built
again (the reader first on the way down)."""

from django.db import migrations

from analytics import ddl, viewdefs

CONTACTS, FIRSTS = "analytics_candidate_contacts", "analytics_contact_firsts"


def build(contacts: str, firsts: str) -> list[str]:
    return ddl.as_text([
        *ddl.drop(FIRSTS, swapped=False),
        *ddl.drop(CONTACTS, swapped=True),
        *ddl.swapped_create(CONTACTS, contacts, ["facility_id, sent_date"]),
        *ddl.materialized_create(FIRSTS, firsts, "sent_date, prev_date, converted", []),
    ])  # fmt: skip


class Migration(migrations.Migration):
    dependencies = [("analytics", "0010_actor_spans")]

    operations = [
        migrations.RunSQL(
            build(viewdefs.CANDIDATE_CONTACTS_V3, viewdefs.CONTACT_FIRSTS_V3),
            build(viewdefs.CANDIDATE_CONTACTS_V2, viewdefs.CONTACT_FIRSTS_V2),
        ),
    ]
