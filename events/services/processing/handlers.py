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

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from psycopg import sql

from events.models.records import STAGES

BATCH = "processing_batch"
PROBLEMS = "processing_problem"

KEEP_LATEST = sql.SQL("ON CONFLICT (event_id) DO UPDATE SET kind = EXCLUDED.kind, reason = EXCLUDED.reason")

# Trimmed, lower-case, distinct, sorted by code point: the same list however it was sent.
SKILLS = sql.SQL(
    "ARRAY(SELECT DISTINCT lower(btrim(s.v, E' \\t\\n\\r\\f\\x0B')) COLLATE \"C\" AS skill "
    "FROM jsonb_array_elements_text(c.data->'skills') AS s(v) "
    "WHERE btrim(s.v, E' \\t\\n\\r\\f\\x0B') <> '' ORDER BY skill)"
)


def _claiming(src: sql.Composable, event_type: str, table: str, key: str) -> sql.Composable:
    """CTEs for events that create a record: ``refused`` fails those whose id a record of
    another facility holds, ``claimed`` keeps the latest event per id among the others."""
    return sql.SQL("""
        typed AS (
            SELECT b.*, r.facility_id AS owner
            FROM {src} b LEFT JOIN {table} r ON r.external_id = b.data->>{key}
            WHERE b.type = {event_type}
        ),
        refused AS (
            INSERT INTO processing_problem (event_id, kind, reason)
            SELECT event_id, 'fail', {key_space} || (data->>{key}) || ' belongs to another facility'
            FROM typed WHERE owner <> facility_id
            {keep_latest}
        ),
        claimed AS (
            SELECT DISTINCT ON (data->>{key}) * FROM typed
            WHERE owner IS NULL OR owner = facility_id
            ORDER BY data->>{key}, occurred_at DESC, event_id DESC
        )
    """).format(
        src=src,
        table=sql.Identifier(table),
        key=sql.Literal(key),
        event_type=sql.Literal(event_type),
        key_space=sql.Literal(f"{key} "),
        keep_latest=KEEP_LATEST,
    )


def _resolving(source: str, table: str, key: str, *, same_facility: bool) -> sql.Composable:
    """CTEs ``resolved`` (the events of ``source`` with ``ref``, the row id of the record they
    name, or NULL) and ``problems`` (waits for missing records, fails for another facility's).
    ``ok`` marks the events that can apply."""
    foreign = sql.SQL("r.facility_id <> s.facility_id" if same_facility else "false")
    return sql.SQL("""
        resolved AS (
            SELECT s.*, r.id AS ref, (r.id IS NOT NULL AND NOT ({foreign})) AS ok,
                   CASE WHEN r.id IS NULL THEN 'wait' ELSE 'fail' END AS kind,
                   {key_space} || (s.data->>{key}) ||
                       CASE WHEN r.id IS NULL THEN ' not seen yet' ELSE ' belongs to another facility' END AS reason
            FROM {source} s LEFT JOIN {table} r ON r.external_id = s.data->>{key}
        ),
        problems AS (
            INSERT INTO processing_problem (event_id, kind, reason)
            SELECT event_id, kind, reason FROM resolved WHERE NOT ok
            {keep_latest}
        )
    """).format(
        foreign=foreign,
        key_space=sql.Literal(f"{key} "),
        key=sql.Literal(key),
        source=sql.Identifier(source),
        table=sql.Identifier(table),
        keep_latest=KEEP_LATEST,
    )


def _owned_elsewhere(src: sql.Composable, event_type: str, table: str, key: str) -> sql.Composable:
    """After an upsert: fail the events whose record is another facility's. The claiming CTE
    refuses those it can see; this catches a record another lane committed meanwhile (its
    upsert then changed nothing: the guard on the update leaves that record alone)."""
    return sql.SQL("""
    INSERT INTO processing_problem (event_id, kind, reason)
    SELECT b.event_id, 'fail', {key_space} || (b.data->>{key}) || ' belongs to another facility'
    FROM {src} b JOIN {table} r ON r.external_id = b.data->>{key}
    WHERE b.type = {event_type} AND r.facility_id <> b.facility_id
    {keep_latest}
    """).format(
        key_space=sql.Literal(f"{key} "),
        key=sql.Literal(key),
        src=src,
        table=sql.Identifier(table),
        event_type=sql.Literal(event_type),
        keep_latest=KEEP_LATEST,
    )


def _typed(src: sql.Composable, event_type: str) -> sql.Composable:
    return sql.SQL("typed AS (SELECT b.* FROM {src} b WHERE b.type = {event_type})").format(
        src=src, event_type=sql.Literal(event_type)
    )


def _job_opened(src: sql.Composable) -> list[sql.Composable]:
    return [
        sql.SQL("""
    WITH {cte0}
    INSERT INTO events_job (external_id, facility_id, title, specialty, skills, positions, bill_rate, status,
                            opened_at, opened_date, created_at, updated_at)
    SELECT c.data->>'job_id', c.facility_id, c.data->>'title', coalesce(c.data->>'specialty', ''), {skills},
           coalesce((c.data->>'positions')::int, 1), (c.data->>'bill_rate')::numeric, 'open', c.occurred_at, c.day,
           now(), now()
    FROM claimed c
    ON CONFLICT (external_id) DO UPDATE SET
        title = EXCLUDED.title, specialty = EXCLUDED.specialty, skills = EXCLUDED.skills,
        positions = EXCLUDED.positions, bill_rate = EXCLUDED.bill_rate, updated_at = now()
    WHERE events_job.facility_id = EXCLUDED.facility_id  -- never another facility's record
    """).format(cte0=_claiming(src, "job.opened", "events_job", "job_id"), skills=SKILLS),
    ]


def _candidate_created(src: sql.Composable) -> list[sql.Composable]:
    return [
        sql.SQL("""
    WITH {cte0}
    INSERT INTO events_candidate (external_id, facility_id, first_name, last_name, email, phone, skills, source,
                                  registered_at, registered_date, created_at, updated_at)
    SELECT c.data->>'candidate_id', c.facility_id, c.data->>'first_name', c.data->>'last_name', c.data->>'email',
           c.data->>'phone', {skills}, c.data->>'source', c.occurred_at, c.day, now(), now()
    FROM claimed c
    ON CONFLICT (external_id) DO UPDATE SET
        first_name = EXCLUDED.first_name, last_name = EXCLUDED.last_name, email = EXCLUDED.email,
        phone = EXCLUDED.phone, skills = EXCLUDED.skills, source = EXCLUDED.source, updated_at = now()
    WHERE events_candidate.facility_id = EXCLUDED.facility_id  -- never another facility's record
    """).format(cte0=_claiming(src, "candidate.created", "events_candidate", "candidate_id"), skills=SKILLS),
    ]


def _application_created(src: sql.Composable) -> list[sql.Composable]:
    return [
        sql.SQL("""
    WITH {cte0},
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
        {keep_latest}
    )
    INSERT INTO events_application (external_id, facility_id, job_id, candidate_id, source, status,
                                    furthest_stage, applied_at, applied_date, created_at, updated_at)
    SELECT data->>'application_id', facility_id, job, candidate, data->>'source', 'applied', 0,
           occurred_at, day, now(), now()
    FROM resolved WHERE ok
    ON CONFLICT (external_id) DO UPDATE SET source = EXCLUDED.source, updated_at = now()
    WHERE events_application.facility_id = EXCLUDED.facility_id  -- never another facility's record
    """).format(
            cte0=_claiming(src, "application.created", "events_application", "application_id"), keep_latest=KEEP_LATEST
        ),
        _owned_elsewhere(src, "application.created", "events_application", "application_id"),
    ]


_STAGE_CASE = sql.SQL(" ").join(
    sql.SQL("WHEN {} THEN {}").format(sql.Literal(status), sql.Literal(stage)) for status, stage in STAGES.items()
)


def _status_changed(src: sql.Composable) -> list[sql.Composable]:
    return [
        sql.SQL("""
    WITH {cte0},
    {cte1},
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
               max(CASE status {stage_case} END) AS furthest_stage,
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
    """).format(
            cte0=_typed(src, "application.status_changed"),
            cte1=_resolving("typed", "events_application", "application_id", same_facility=True),
            stage_case=_STAGE_CASE,
        )
    ]


def _job_end(src: sql.Composable, event_type: str, status: str) -> list[sql.Composable]:
    # A later event wins; an older one arriving late does not undo it.
    filled = status == "filled"
    return [
        sql.SQL("""
        WITH {cte0},
        {cte1},
        latest AS (
            SELECT DISTINCT ON (ref) ref, occurred_at, day FROM resolved WHERE ok
            ORDER BY ref, occurred_at DESC, event_id
        )
        UPDATE events_job j SET status = {status},
            filled_at = {part3},
            filled_date = {part4},
            cancelled_at = {part5},
            updated_at = now()
        FROM latest u
        WHERE j.id = u.ref AND coalesce(GREATEST(j.filled_at, j.cancelled_at), '-infinity') <= u.occurred_at
        """).format(
            cte0=_typed(src, event_type),
            cte1=_resolving("typed", "events_job", "job_id", same_facility=True),
            status=sql.Literal(status),
            part3=sql.SQL("u.occurred_at" if filled else "j.filled_at"),
            part4=sql.SQL("u.day" if filled else "j.filled_date"),
            part5=sql.SQL("j.cancelled_at" if filled else "u.occurred_at"),
        )
    ]


def _placement_started(src: sql.Composable) -> list[sql.Composable]:
    return [
        sql.SQL("""
    WITH {cte0},
    {cte1}
    INSERT INTO events_placement (external_id, facility_id, application_id, start_date, end_date, bill_rate,
                                  started_at, created_at, updated_at)
    SELECT data->>'placement_id', facility_id, ref, (data->>'start_date')::date, (data->>'end_date')::date,
           (data->>'bill_rate')::numeric, occurred_at, now(), now()
    FROM resolved WHERE ok
    ON CONFLICT (external_id) DO UPDATE SET
        start_date = EXCLUDED.start_date, end_date = EXCLUDED.end_date, bill_rate = EXCLUDED.bill_rate,
        updated_at = now()
    WHERE events_placement.facility_id = EXCLUDED.facility_id  -- never another facility's record
    """).format(
            cte0=_claiming(src, "placement.started", "events_placement", "placement_id"),
            cte1=_resolving("claimed", "events_application", "application_id", same_facility=True),
        ),
        _owned_elsewhere(src, "placement.started", "events_placement", "placement_id"),
    ]


def _invoice_issued(src: sql.Composable) -> list[sql.Composable]:
    return [
        sql.SQL("""
    WITH {cte0},
    {cte1}
    INSERT INTO events_invoice (external_id, facility_id, placement_id, amount, issued_at, issued_date,
                                created_at, updated_at)
    SELECT data->>'invoice_id', facility_id, ref, (data->>'amount')::numeric, occurred_at, day, now(), now()
    FROM resolved WHERE ok
    ON CONFLICT (external_id) DO UPDATE SET amount = EXCLUDED.amount, updated_at = now()
    WHERE events_invoice.facility_id = EXCLUDED.facility_id  -- never another facility's record
    """).format(
            cte0=_claiming(src, "invoice.issued", "events_invoice", "invoice_id"),
            cte1=_resolving("claimed", "events_placement", "placement_id", same_facility=True),
        ),
        _owned_elsewhere(src, "invoice.issued", "events_invoice", "invoice_id"),
    ]


def _outreach_sent(src: sql.Composable) -> list[sql.Composable]:
    return [
        sql.SQL("""
    WITH {cte0},
    {cte1}
    INSERT INTO events_outreachmessage (external_id, facility_id, candidate_id, channel, sent_at, sent_date,
                                        actor, created_at, updated_at)
    SELECT data->>'message_id', facility_id, ref, data->>'channel', occurred_at, day, coalesce(actor, ''),
           now(), now()
    FROM resolved WHERE ok
    ON CONFLICT (external_id) DO UPDATE SET channel = EXCLUDED.channel, updated_at = now()
    WHERE events_outreachmessage.facility_id = EXCLUDED.facility_id  -- never another facility's record
    """).format(
            cte0=_claiming(src, "outreach.sent", "events_outreachmessage", "message_id"),
            cte1=_resolving("claimed", "events_candidate", "candidate_id", same_facility=False),
        ),
        _owned_elsewhere(src, "outreach.sent", "events_outreachmessage", "message_id"),
    ]


def _outreach_replied(src: sql.Composable) -> list[sql.Composable]:
    return [
        sql.SQL("""
    WITH {cte0},
    {cte1},
    first AS (SELECT ref, min(occurred_at) AS replied_at FROM resolved WHERE ok GROUP BY ref)
    UPDATE events_outreachmessage m
    SET replied_at = LEAST(m.replied_at, u.replied_at), updated_at = now()
    FROM first u WHERE m.id = u.ref
    """).format(
            cte0=_typed(src, "outreach.replied"),
            cte1=_resolving("typed", "events_outreachmessage", "message_id", same_facility=True),
        )
    ]


def _compliance_checked(src: sql.Composable) -> list[sql.Composable]:
    return [
        sql.SQL("""
    WITH {cte0},
    {cte1}
    INSERT INTO events_compliancecheck (external_id, facility_id, candidate_id, credential, status, severity,
                                        score, expires_on, checked_at, checked_date, created_at, updated_at)
    SELECT data->>'check_id', facility_id, ref, data->>'credential', data->>'status', data->>'severity',
           (data->>'score')::int, (data->>'expires_on')::date, occurred_at, day, now(), now()
    FROM resolved WHERE ok
    ON CONFLICT (external_id) DO UPDATE SET
        credential = EXCLUDED.credential, status = EXCLUDED.status, severity = EXCLUDED.severity,
        score = EXCLUDED.score, expires_on = EXCLUDED.expires_on, updated_at = now()
    WHERE events_compliancecheck.facility_id = EXCLUDED.facility_id  -- never another facility's record
    """).format(
            cte0=_claiming(src, "compliance.checked", "events_compliancecheck", "check_id"),
            cte1=_resolving("claimed", "events_candidate", "candidate_id", same_facility=False),
        ),
        _owned_elsewhere(src, "compliance.checked", "events_compliancecheck", "check_id"),
    ]


# In dependency order: a batch may hold a record and the events that refer to it.
STATEMENTS: dict[str, Callable[[sql.Composable], list[sql.Composable]]] = {
    "job.opened": _job_opened,
    "candidate.created": _candidate_created,
    "application.created": _application_created,
    "application.status_changed": _status_changed,
    "job.filled": lambda src: _job_end(src, "job.filled", "filled"),
    "job.cancelled": lambda src: _job_end(src, "job.cancelled", "cancelled"),
    "placement.started": _placement_started,
    "invoice.issued": _invoice_issued,
    "outreach.sent": _outreach_sent,
    "outreach.replied": _outreach_replied,
    "compliance.checked": _compliance_checked,
}
APPLY_ORDER = list(STATEMENTS)


@cache
def statements_for(event_type: str, source: str) -> list[sql.Composable]:
    """The statements of one type, reading the staged table ``source`` (composed once per process)."""
    return STATEMENTS[event_type](sql.Identifier(source))
