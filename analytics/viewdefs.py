"""Definitions of the materialized views, by version.

A migration creates each view from one of these constants. A definition never changes once a
migration uses it: a new definition is a new constant (``..._V2``) and a new migration. The
selectors read the current ones (`analytics.registry`), and `?fresh=true` runs the same SQL
over the base tables instead of the stored view.
"""

# One row per (facility, day applied, source, current status, furthest stage): the pipeline
# cohort. Counts only, so every cohort metric is a sum.
PIPELINE_COHORT_V1 = """
SELECT facility_id, applied_date, source, status, furthest_stage, count(*)::bigint AS applications
FROM events_application
GROUP BY facility_id, applied_date, source, status, furthest_stage
"""

# One row per hire, with its exact time to hire in seconds: medians stay exact.
HIRES_V1 = """
SELECT id AS application_id, facility_id, hired_date, applied_date, source,
       extract(epoch FROM hired_at - applied_at)::bigint AS seconds_to_hire
FROM events_application
WHERE hired_at IS NOT NULL
"""

# First offers per (facility, day offered) and whether the candidate was hired afterwards.
OFFERS_V1 = """
SELECT facility_id, offered_date, (hired_at IS NOT NULL AND hired_at >= offered_at) AS accepted,
       count(*)::bigint AS offers
FROM events_application
WHERE offered_at IS NOT NULL
GROUP BY facility_id, offered_date, accepted
"""

# One row per job: openings, fills and how many of its applications reached hired.
JOBS_V1 = """
SELECT j.id AS job_id, j.facility_id, j.opened_date, j.filled_date, j.positions, j.specialty, j.bill_rate, j.skills,
       extract(epoch FROM j.filled_at - j.opened_at)::bigint AS seconds_to_fill,
       coalesce(h.hires, 0)::bigint AS hires
FROM events_job j
LEFT JOIN (
    SELECT job_id, count(*) AS hires FROM events_application WHERE furthest_stage = 4 GROUP BY job_id
) h ON h.job_id = j.id
"""

# Credential checks per (facility, day checked, status, severity, expiry day): counts and the
# score sum, so the mean score is exact and "expiring within 30 days of end_date" is a filter.
COMPLIANCE_DAILY_V1 = """
SELECT facility_id, checked_date, status, severity, expires_on, count(*)::bigint AS checks,
       sum(score)::bigint AS score_sum
FROM events_compliancecheck
GROUP BY facility_id, checked_date, status, severity, expires_on
"""

# Revenue per (facility, day issued, placement): sums are exact and distinct placements countable.
REVENUE_DAILY_V1 = """
SELECT facility_id, issued_date, placement_id, sum(amount) AS revenue, count(*)::bigint AS invoices
FROM events_invoice
GROUP BY facility_id, issued_date, placement_id
"""

# One row per placement, for "active in the period".
PLACEMENTS_V1 = """
SELECT id AS placement_id, facility_id, start_date, end_date FROM events_placement
"""

# Messages per (facility, day sent, channel): sent and replied counts.
OUTREACH_DAILY_V1 = """
SELECT facility_id, sent_date, channel, count(*)::bigint AS sent, count(replied_at)::bigint AS replied
FROM events_outreachmessage
GROUP BY facility_id, sent_date, channel
"""

# One row per replied message with its exact response time: medians stay exact.
OUTREACH_REPLIES_V1 = """
SELECT id AS message_id, facility_id, sent_date, extract(epoch FROM replied_at - sent_at)::bigint AS seconds_to_reply
FROM events_outreachmessage
WHERE replied_at IS NOT NULL
"""

# First contact of each candidate per (facility, day), and each application's time: enough to
# tell whether a messaged candidate applied within 30 days of the first message.
CANDIDATE_CONTACTS_V1 = """
SELECT candidate_id, facility_id, sent_date, min(sent_at) AS first_sent_at
FROM events_outreachmessage
GROUP BY candidate_id, facility_id, sent_date
"""
CANDIDATE_APPLICATIONS_V1 = """
SELECT id AS application_id, candidate_id, facility_id, applied_at FROM events_application
"""

# Candidates by skill, facility and day registered (skills are stored lower-case and trimmed).
CANDIDATE_SKILLS_V1 = """
SELECT skill, facility_id, registered_date, count(*)::bigint AS candidates
FROM events_candidate, unnest(skills) AS skill
GROUP BY skill, facility_id, registered_date
"""

# Status changes per (facility, day, actor): changes, moves to hired and their time to hire.
RECRUITER_DAILY_V1 = """
SELECT h.facility_id, h.occurred_date, h.actor, count(*)::bigint AS status_changes,
       count(*) FILTER (WHERE h.status = 'hired')::bigint AS hires,
       coalesce(sum(extract(epoch FROM a.hired_at - a.applied_at)) FILTER (WHERE h.status = 'hired'), 0)::bigint
           AS seconds_to_hire_sum
FROM events_applicationstatuschange h
JOIN events_application a ON a.id = h.application_id
WHERE h.actor <> ''
GROUP BY h.facility_id, h.occurred_date, h.actor
"""

# Who was active on which day, and where (facility may be empty): distinct counts stay exact.
ACTOR_DAYS_V1 = """
SELECT local_date, actor, facility_id, count(*)::bigint AS events
FROM events_event
WHERE actor IS NOT NULL AND actor <> ''
GROUP BY local_date, actor, facility_id
"""

# Events per (day, facility, type).
EVENT_TYPES_DAILY_V1 = """
SELECT local_date, facility_id, type, count(*)::bigint AS events
FROM events_event
WHERE actor IS NOT NULL AND actor <> ''
GROUP BY local_date, facility_id, type
"""
