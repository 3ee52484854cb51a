"""The statements that apply one type of event, reading the staged batch in the database.

Each handler reads the events of its type from a staged table (``processing_batch``, or
``processing_one`` when events are applied one at a time), upserts the records keyed by the
sender's ids, and writes every event that cannot apply into ``processing_problem``: ``wait``
when it names a record not seen yet, ``fail`` when it names a record of another facility.
Nothing goes through Python but the statements themselves.

Rules kept from the event contract:

- An event that creates a record (``job.opened``, ``candidate.created``, ...) fails when its id
  is already used by a record of another facility; of several events for one id in a batch,
  the latest (``occurred_at``, then event id) is the one applied.
- An application's status is the latest of its history by ``occurred_at`` (a later insert wins
  a tie), its furthest stage the highest stage ever reached, its first offer and hire the
  earliest ones. They are folded in from the history rows a batch actually adds, so a replayed
  change (already in the history) changes nothing and the order of arrival does not matter.
"""

# ruff: noqa: S608 - every statement is built from the constants below; the one name that varies
# (the staged table) is composed with psycopg.sql, and no value is ever put into the text.

from __future__ import annotations

from psycopg import sql

from events.models.records import STAGES

BATCH = "processing_batch"
PROBLEMS = "processing_problem"

KEEP_LATEST = "ON CONFLICT (event_id) DO UPDATE SET kind = EXCLUDED.kind, reason = EXCLUDED.reason"


def _skills(column: str) -> str:
    """Trimmed, lower-case, distinct, sorted by code point: the same list however it was sent."""
    return (
        f"ARRAY(SELECT DISTINCT lower(btrim(s.v, E' \\t\\n\\r\\f\\x0B')) COLLATE \"C\" AS skill "
        f"FROM jsonb_array_elements_text({column}->'skills') AS s(v) "
        f"WHERE btrim(s.v, E' \\t\\n\\r\\f\\x0B') <> '' ORDER BY skill)"
    )


def _claiming(event_type: str, table: str, key: str) -> str:
    """CTEs for events that create a record: ``refused`` fails those whose id a record of
    another facility holds, ``claimed`` keeps the latest event per id among the others."""
    return f"""
        typed AS (
            SELECT b.*, r.facility_id AS owner
            FROM {{src}} b LEFT JOIN {table} r ON r.external_id = b.data->>'{key}'
            WHERE b.type = '{event_type}'
        ),
        refused AS (
            INSERT INTO processing_problem (event_id, kind, reason)
            SELECT event_id, 'fail', '{key} ' || (data->>'{key}') || ' belongs to another facility'
            FROM typed WHERE owner <> facility_id
            {KEEP_LATEST}
        ),
        claimed AS (
            SELECT DISTINCT ON (data->>'{key}') * FROM typed
            WHERE owner IS NULL OR owner = facility_id
            ORDER BY data->>'{key}', occurred_at DESC, event_id DESC
        )
    """


def _resolving(source: str, table: str, key: str, *, same_facility: bool) -> str:
    """CTEs ``resolved`` (the events of ``source`` with ``ref``, the row id of the record they
    name, or NULL) and ``problems`` (waits for missing records, fails for another facility's).
    ``ok`` marks the events that can apply."""
    foreign = "r.facility_id <> s.facility_id" if same_facility else "false"
    return f"""
        resolved AS (
            SELECT s.*, r.id AS ref, (r.id IS NOT NULL AND NOT ({foreign})) AS ok,
                   CASE WHEN r.id IS NULL THEN 'wait' ELSE 'fail' END AS kind,
                   '{key} ' || (s.data->>'{key}') ||
                       CASE WHEN r.id IS NULL THEN ' not seen yet' ELSE ' belongs to another facility' END AS reason
            FROM {source} s LEFT JOIN {table} r ON r.external_id = s.data->>'{key}'
        ),
        problems AS (
            INSERT INTO processing_problem (event_id, kind, reason)
            SELECT event_id, kind, reason FROM resolved WHERE NOT ok
            {KEEP_LATEST}
        )
    """


def _owned_elsewhere(event_type: str, table: str, key: str) -> str:
    """After an upsert: fail the events whose record is another facility's. The claiming CTE
    refuses those it can see; this catches a record another lane committed meanwhile (its
    upsert then changed nothing: the guard on the update leaves that record alone)."""
    return f"""
    INSERT INTO processing_problem (event_id, kind, reason)
    SELECT b.event_id, 'fail', '{key} ' || (b.data->>'{key}') || ' belongs to another facility'
    FROM {{src}} b JOIN {table} r ON r.external_id = b.data->>'{key}'
    WHERE b.type = '{event_type}' AND r.facility_id <> b.facility_id
    {KEEP_LATEST}
    """


def _typed(event_type: str) -> str:
    return f"typed AS (SELECT b.* FROM {{src}} b WHERE b.type = '{event_type}')"


JOB_OPENED = [
    f"""
    WITH {_claiming("job.opened", "events_job", "job_id")}
    INSERT INTO events_job (external_id, facility_id, title, specialty, skills, positions, bill_rate, status,
                            opened_at, opened_date, created_at, updated_at)
    SELECT c.data->>'job_id', c.facility_id, c.data->>'title', coalesce(c.data->>'specialty', ''), {_skills("c.data")},
           coalesce((c.data->>'positions')::int, 1), (c.data->>'bill_rate')::numeric, 'open', c.occurred_at, c.day,
           now(), now()
    FROM claimed c
    ON CONFLICT (external_id) DO UPDATE SET
        title = EXCLUDED.title, specialty = EXCLUDED.specialty, skills = EXCLUDED.skills,
        positions = EXCLUDED.positions, bill_rate = EXCLUDED.bill_rate, updated_at = now()
    WHERE events_job.facility_id = EXCLUDED.facility_id  -- never another facility's record
    """,
]

CANDIDATE_CREATED = [
    f"""
    WITH {_claiming("candidate.created", "events_candidate", "candidate_id")}
    INSERT INTO events_candidate (external_id, facility_id, first_name, last_name, email, phone, skills, source,
                                  registered_at, registered_date, created_at, updated_at)
    SELECT c.data->>'candidate_id', c.facility_id, c.data->>'first_name', c.data->>'last_name', c.data->>'email',
           c.data->>'phone', {_skills("c.data")}, c.data->>'source', c.occurred_at, c.day, now(), now()
    FROM claimed c
    ON CONFLICT (external_id) DO UPDATE SET
        first_name = EXCLUDED.first_name, last_name = EXCLUDED.last_name, email = EXCLUDED.email,
        phone = EXCLUDED.phone, skills = EXCLUDED.skills, source = EXCLUDED.source, updated_at = now()
    WHERE events_candidate.facility_id = EXCLUDED.facility_id  -- never another facility's record
    """,
]

APPLICATION_CREATED = [
    f"""
    WITH {_claiming("application.created", "events_application", "application_id")},
    resolved AS (
        SELECT c.*, j.id AS job, ca.id AS candidate,
               (j.id IS NOT NULL AND ca.id IS NOT NULL AND j.facility_id = c.facility_id) AS ok
        FROM claimed c
        LEFT JOIN events_job j ON j.external_id = c.data->>'job_id'
        LEFT JOIN events_candidate ca ON ca.external_id = c.data->>'candidate_id'
    ),
    problems AS (
        INSERT INTO processing_problem (event_id, kind, reason)
        SELECT event_id,
               CASE WHEN candidate IS NULL OR job IS NULL THEN 'wait' ELSE 'fail' END,
               CASE WHEN candidate IS NULL THEN 'candidate_id ' || (data->>'candidate_id') || ' not seen yet'
                    WHEN job IS NULL THEN 'job_id ' || (data->>'job_id') || ' not seen yet'
                    ELSE 'job_id ' || (data->>'job_id') || ' belongs to another facility' END
        FROM resolved WHERE NOT ok
        {KEEP_LATEST}
    )
    INSERT INTO events_application (external_id, facility_id, job_id, candidate_id, source, status,
                                    furthest_stage, applied_at, applied_date, created_at, updated_at)
    SELECT data->>'application_id', facility_id, job, candidate, data->>'source', 'applied', 0,
           occurred_at, day, now(), now()
    FROM resolved WHERE ok
    ON CONFLICT (external_id) DO UPDATE SET source = EXCLUDED.source, updated_at = now()
    WHERE events_application.facility_id = EXCLUDED.facility_id  -- never another facility's record
    """,
    _owned_elsewhere("application.created", "events_application", "application_id"),
]

_STAGE_CASE = " ".join(f"WHEN '{status}' THEN {stage}" for status, stage in STAGES.items())

STATUS_CHANGED = [
    f"""
    WITH {_typed("application.status_changed")},
    {_resolving("typed", "events_application", "application_id", same_facility=True)},
    added AS (
        -- Ids follow time order within a batch: on equal occurred_at the later insert wins, as
        -- it does against the history already stored.
        INSERT INTO events_applicationstatuschange (event_id, application_id, facility_id, status, occurred_at,
                                                    occurred_date, actor)
        SELECT event_id, ref, facility_id, data->>'status', occurred_at, day, coalesce(actor, '')
        FROM resolved WHERE ok
        ORDER BY occurred_at, event_id
        ON CONFLICT (event_id) DO NOTHING
        RETURNING id, application_id, status, occurred_at, occurred_date
    ),
    h AS (
        SELECT application_id,
               (array_agg(status ORDER BY occurred_at DESC, id DESC))[1] AS last_status,
               max(occurred_at) AS last_at,
               max(CASE status {_STAGE_CASE} END) AS furthest_stage,
               min(occurred_at) FILTER (WHERE status = 'offered') AS offered_at,
               min(occurred_date) FILTER (WHERE status = 'offered') AS offered_date,
               min(occurred_at) FILTER (WHERE status = 'hired') AS hired_at,
               min(occurred_date) FILTER (WHERE status = 'hired') AS hired_date
        FROM added GROUP BY application_id
    )
    UPDATE events_application a SET
        status = CASE WHEN a.status_changed_at IS NULL OR h.last_at >= a.status_changed_at
                      THEN h.last_status ELSE a.status END,
        status_changed_at = GREATEST(a.status_changed_at, h.last_at),
        furthest_stage = GREATEST(a.furthest_stage, h.furthest_stage),
        offered_date = CASE WHEN h.offered_at < a.offered_at OR a.offered_at IS NULL
                            THEN h.offered_date ELSE a.offered_date END,
        offered_at = LEAST(a.offered_at, h.offered_at),
        hired_date = CASE WHEN h.hired_at < a.hired_at OR a.hired_at IS NULL THEN h.hired_date ELSE a.hired_date END,
        hired_at = LEAST(a.hired_at, h.hired_at),
        updated_at = now()
    FROM h WHERE a.id = h.application_id
    """
]


def _job_end(event_type: str, status: str) -> list[str]:
    # A later event wins; an older one arriving late does not undo it.
    filled = status == "filled"
    return [
        f"""
        WITH {_typed(event_type)},
        {_resolving("typed", "events_job", "job_id", same_facility=True)},
        latest AS (
            SELECT DISTINCT ON (ref) ref, occurred_at, day FROM resolved WHERE ok
            ORDER BY ref, occurred_at DESC, event_id
        )
        UPDATE events_job j SET status = '{status}',
            filled_at = {"u.occurred_at" if filled else "j.filled_at"},
            filled_date = {"u.day" if filled else "j.filled_date"},
            cancelled_at = {"j.cancelled_at" if filled else "u.occurred_at"},
            updated_at = now()
        FROM latest u
        WHERE j.id = u.ref AND coalesce(GREATEST(j.filled_at, j.cancelled_at), '-infinity') <= u.occurred_at
        """
    ]


PLACEMENT_STARTED = [
    f"""
    WITH {_claiming("placement.started", "events_placement", "placement_id")},
    {_resolving("claimed", "events_application", "application_id", same_facility=True)}
    INSERT INTO events_placement (external_id, facility_id, application_id, start_date, end_date, bill_rate,
                                  started_at, created_at, updated_at)
    SELECT data->>'placement_id', facility_id, ref, (data->>'start_date')::date, (data->>'end_date')::date,
           (data->>'bill_rate')::numeric, occurred_at, now(), now()
    FROM resolved WHERE ok
    ON CONFLICT (external_id) DO UPDATE SET
        start_date = EXCLUDED.start_date, end_date = EXCLUDED.end_date, bill_rate = EXCLUDED.bill_rate,
        updated_at = now()
    WHERE events_placement.facility_id = EXCLUDED.facility_id  -- never another facility's record
    """,
    _owned_elsewhere("placement.started", "events_placement", "placement_id"),
]

INVOICE_ISSUED = [
    f"""
    WITH {_claiming("invoice.issued", "events_invoice", "invoice_id")},
    {_resolving("claimed", "events_placement", "placement_id", same_facility=True)}
    INSERT INTO events_invoice (external_id, facility_id, placement_id, amount, issued_at, issued_date,
                                created_at, updated_at)
    SELECT data->>'invoice_id', facility_id, ref, (data->>'amount')::numeric, occurred_at, day, now(), now()
    FROM resolved WHERE ok
    ON CONFLICT (external_id) DO UPDATE SET amount = EXCLUDED.amount, updated_at = now()
    WHERE events_invoice.facility_id = EXCLUDED.facility_id  -- never another facility's record
    """,
    _owned_elsewhere("invoice.issued", "events_invoice", "invoice_id"),
]

OUTREACH_SENT = [
    f"""
    WITH {_claiming("outreach.sent", "events_outreachmessage", "message_id")},
    {_resolving("claimed", "events_candidate", "candidate_id", same_facility=False)}
    INSERT INTO events_outreachmessage (external_id, facility_id, candidate_id, channel, sent_at, sent_date,
                                        actor, created_at, updated_at)
    SELECT data->>'message_id', facility_id, ref, data->>'channel', occurred_at, day, coalesce(actor, ''),
           now(), now()
    FROM resolved WHERE ok
    ON CONFLICT (external_id) DO UPDATE SET channel = EXCLUDED.channel, updated_at = now()
    WHERE events_outreachmessage.facility_id = EXCLUDED.facility_id  -- never another facility's record
    """,
    _owned_elsewhere("outreach.sent", "events_outreachmessage", "message_id"),
]

OUTREACH_REPLIED = [
    f"""
    WITH {_typed("outreach.replied")},
    {_resolving("typed", "events_outreachmessage", "message_id", same_facility=True)},
    first AS (SELECT ref, min(occurred_at) AS replied_at FROM resolved WHERE ok GROUP BY ref)
    UPDATE events_outreachmessage m
    SET replied_at = LEAST(m.replied_at, u.replied_at), updated_at = now()
    FROM first u WHERE m.id = u.ref
    """
]

COMPLIANCE_CHECKED = [
    f"""
    WITH {_claiming("compliance.checked", "events_compliancecheck", "check_id")},
    {_resolving("claimed", "events_candidate", "candidate_id", same_facility=False)}
    INSERT INTO events_compliancecheck (external_id, facility_id, candidate_id, credential, status, severity,
                                        score, expires_on, checked_at, checked_date, created_at, updated_at)
    SELECT data->>'check_id', facility_id, ref, data->>'credential', data->>'status', data->>'severity',
           (data->>'score')::int, (data->>'expires_on')::date, occurred_at, day, now(), now()
    FROM resolved WHERE ok
    ON CONFLICT (external_id) DO UPDATE SET
        credential = EXCLUDED.credential, status = EXCLUDED.status, severity = EXCLUDED.severity,
        score = EXCLUDED.score, expires_on = EXCLUDED.expires_on, updated_at = now()
    WHERE events_compliancecheck.facility_id = EXCLUDED.facility_id  -- never another facility's record
    """,
    _owned_elsewhere("compliance.checked", "events_compliancecheck", "check_id"),
]

# In dependency order: a batch may hold a record and the events that refer to it.
STATEMENTS: dict[str, list[str]] = {
    "job.opened": JOB_OPENED,
    "candidate.created": CANDIDATE_CREATED,
    "application.created": APPLICATION_CREATED,
    "application.status_changed": STATUS_CHANGED,
    "job.filled": _job_end("job.filled", "filled"),
    "job.cancelled": _job_end("job.cancelled", "cancelled"),
    "placement.started": PLACEMENT_STARTED,
    "invoice.issued": INVOICE_ISSUED,
    "outreach.sent": OUTREACH_SENT,
    "outreach.replied": OUTREACH_REPLIED,
    "compliance.checked": COMPLIANCE_CHECKED,
}
APPLY_ORDER = list(STATEMENTS)


def statements_for(event_type: str, source: str) -> list[sql.Composed]:
    """The statements of one type, reading the staged table ``source``."""
    return [sql.SQL(text).format(src=sql.Identifier(source)) for text in STATEMENTS[event_type]]
