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
