"""Definitions of the materialized views, by version.

A migration creates each view from one of these constants. A definition never changes once a
migration uses it: a new definition is a new constant (``..._V2``) and a new migration. The
selectors read the current ones (`analytics.registry`), and `?fresh=true` runs the same SQL
over the base tables instead of the stored view. How a view is stored (a materialized view, or a
table rebuilt and swapped in behind a plain view: migration 0006) does not change its definition.
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

# --- V1 of the coarse views (migration 0005). Each reads a finer view above (its dependency in
# `analytics.registry`); ``?fresh=true`` runs it over that view's own definition instead. -------

# Recruiter totals over every facility together, per (month, actor) and per (day, actor): a
# request for all facilities adds whole months and the days of the partial months at the edges.
RECRUITER_TOTALS_V1 = """
WITH daily AS (
    SELECT occurred_date, actor, sum(status_changes)::bigint AS status_changes, sum(hires)::bigint AS hires,
           sum(seconds_to_hire_sum)::bigint AS seconds_to_hire_sum
    FROM analytics_recruiter_daily
    GROUP BY occurred_date, actor
)
SELECT 'day'::text AS grain, occurred_date AS bucket, actor, status_changes, hires, seconds_to_hire_sum FROM daily
UNION ALL
SELECT 'month'::text, date_trunc('month', occurred_date)::date, actor, sum(status_changes)::bigint, sum(hires)::bigint,
       sum(seconds_to_hire_sum)::bigint
FROM daily
GROUP BY date_trunc('month', occurred_date), actor
"""

# Revenue per (facility, day issued, the placement's previous invoice day): sums stay exact, and
# the placements invoiced in a period are the rows in it whose previous invoice day is before it
# (or none), so distinct placements are a sum. An invoice names its placement's facility.
REVENUE_DAYS_V1 = """
SELECT facility_id, issued_date, prev_date, sum(revenue) AS revenue, sum(invoices)::bigint AS invoices,
       count(*)::bigint AS placements
FROM (
    SELECT facility_id, issued_date, revenue, invoices,
           lag(issued_date) OVER (PARTITION BY facility_id, placement_id ORDER BY issued_date) AS prev_date
    FROM analytics_revenue_daily
) invoiced
GROUP BY facility_id, issued_date, prev_date
"""

# Replies per (day sent, response-time bucket) over every facility, with each bucket's smallest
# and largest response: the median's bucket is found from these counts and the exact median read
# from the replies in that bucket only. Buckets: 1, 5, 15, 30 minutes, every hour to 3 days, every
# day to 30, every month to a year.
REPLY_HISTOGRAM_V1 = """
SELECT sent_date, width_bucket(seconds_to_reply, ARRAY[60, 300, 900, 1800, 3600, 7200, 10800, 14400, 18000,
       21600, 25200, 28800, 32400, 36000, 39600, 43200, 46800, 50400, 54000, 57600, 61200, 64800, 68400, 72000,
       75600, 79200, 82800, 86400, 90000, 93600, 97200, 100800, 104400, 108000, 111600, 115200, 118800, 122400,
       126000, 129600, 133200, 136800, 140400, 144000, 147600, 151200, 154800, 158400, 162000, 165600, 169200,
       172800, 176400, 180000, 183600, 187200, 190800, 194400, 198000, 201600, 205200, 208800, 212400, 216000,
       219600, 223200, 226800, 230400, 234000, 237600, 241200, 244800, 248400, 252000, 255600, 259200, 345600,
       432000, 518400, 604800, 691200, 777600, 864000, 950400, 1036800, 1123200, 1209600, 1296000, 1382400,
       1468800, 1555200, 1641600, 1728000, 1814400, 1900800, 1987200, 2073600, 2160000, 2246400, 2332800,
       2419200, 2505600, 2592000, 5184000, 7776000, 10368000, 12960000, 15552000, 18144000, 20736000, 23328000,
       25920000, 28512000, 31536000]::bigint[]) AS bucket,
       count(*)::bigint AS replies, min(seconds_to_reply) AS low, max(seconds_to_reply) AS high
FROM analytics_outreach_replies
GROUP BY 1, 2
"""

# Per candidate and contact day (any facility): the candidate's previous contact day and whether
# an application (any facility) followed that day's first message within 30 days. The candidates
# messaged in a period are the rows in it whose previous contact day is before it (or none), and
# those rows are each candidate's first contact in the period: conversion over every facility is
# a sum.
CONTACT_FIRSTS_V1 = """
SELECT sent_date, prev_date, converted, count(*)::bigint AS candidates
FROM (
    SELECT c.sent_date, lag(c.sent_date) OVER (PARTITION BY c.candidate_id ORDER BY c.sent_date) AS prev_date,
           EXISTS (
               SELECT 1 FROM analytics_candidate_applications a
               WHERE a.candidate_id = c.candidate_id
                 AND a.applied_at >= c.first_at AND a.applied_at <= c.first_at + interval '30 days'
           ) AS converted
    FROM (
        SELECT candidate_id, sent_date, min(first_sent_at) AS first_at
        FROM analytics_candidate_contacts
        GROUP BY candidate_id, sent_date
    ) c
) contacted
GROUP BY sent_date, prev_date, converted
"""

# Actors per day by the set of facilities they were active at that day (``unscoped``: also at
# events naming no facility) and their previous active day (anywhere). One actor-day is one row
# of the inner query, so distinct actors per day are sums for any scope (the sets that meet it),
# and over every facility the distinct actors of any window are the rows in it whose previous
# active day is before it.
ACTOR_DAY_SETS_V1 = """
SELECT local_date, facility_ids, unscoped, prev_date, count(*)::bigint AS actors
FROM (
    SELECT local_date, actor,
           coalesce(array_agg(facility_id ORDER BY facility_id) FILTER (WHERE facility_id IS NOT NULL),
                    '{}') AS facility_ids,
           bool_or(facility_id IS NULL) AS unscoped,
           lag(local_date) OVER (PARTITION BY actor ORDER BY local_date) AS prev_date
    FROM analytics_actor_days
    GROUP BY actor, local_date
) actor_day
GROUP BY local_date, facility_ids, unscoped, prev_date
"""

# Each actor's first active day per facility (or none): the first event in a scope, for retention.
ACTOR_FIRST_SEEN_V1 = """
SELECT actor, facility_id, min(local_date) AS first_date
FROM analytics_actor_days
GROUP BY actor, facility_id
"""

# --- V2: privacy keys (migration 0009, docs/privacy.md). Every count a view holds comes with the
# sum of the privacy keys of the records it counts (``*_keys``), so the cell key of any question
# is a sum like the count itself. Actors and events have no record row of a count's own: their key
# is a hash of the name or id seeded with the installation's secret. -------------

# An actor's key, hashed once per output row (the actor is a grouping column):
# ``hashtextextended(actor, (SELECT seed FROM analytics_privacy_seed)) & 2147483647``.
# An event's key, computed for each of ten million events, hashes its id (a uuid) as it is stored,
# ``uuid_hash_extended(id, seed)``: hashing the id's text instead cost a quarter of the refresh.

PIPELINE_COHORT_V2 = """
SELECT facility_id, applied_date, source, status, furthest_stage, count(*)::bigint AS applications,
       sum(privacy_key)::bigint AS applications_keys
FROM events_application
GROUP BY facility_id, applied_date, source, status, furthest_stage
"""

# Hires per facility and local day: the series (dashboard, trends) count them without reading
# every hire of the period from ``hires``, whose rows are there for the medians.
HIRES_DAILY_V1 = """
SELECT facility_id, hired_date, count(*)::bigint AS hires, sum(privacy_key)::bigint AS hires_keys
FROM events_application
WHERE hired_at IS NOT NULL
GROUP BY facility_id, hired_date
"""

# Over every facility: hires per day hired and whole day to hire (the last bucket holds the rest),
# with their seconds summed and the smallest and largest, so the mean is a sum and the exact median
# is two lookups in ``hires`` at the middle ranks (analytics.selectors.pipeline).
HIRE_HISTOGRAM_V1 = """
SELECT hired_date, least(seconds_to_hire / 86400, 400)::int AS bucket, count(*)::bigint AS hires,
       sum(privacy_key)::bigint AS hires_keys, sum(seconds_to_hire)::bigint AS seconds_sum,
       min(seconds_to_hire) AS low, max(seconds_to_hire) AS high
FROM analytics_hires
GROUP BY 1, 2
"""

HIRES_V2 = """
SELECT id AS application_id, facility_id, hired_date, applied_date, source,
       extract(epoch FROM hired_at - applied_at)::bigint AS seconds_to_hire, privacy_key
FROM events_application
WHERE hired_at IS NOT NULL
"""

OFFERS_V2 = """
SELECT facility_id, offered_date, (hired_at IS NOT NULL AND hired_at >= offered_at) AS accepted,
       count(*)::bigint AS offers, sum(privacy_key)::bigint AS offers_keys
FROM events_application
WHERE offered_at IS NOT NULL
GROUP BY facility_id, offered_date, accepted
"""

JOBS_V2 = """
SELECT j.id AS job_id, j.facility_id, j.opened_date, j.filled_date, j.positions, j.specialty, j.bill_rate, j.skills,
       extract(epoch FROM j.filled_at - j.opened_at)::bigint AS seconds_to_fill,
       coalesce(h.hires, 0)::bigint AS hires, j.privacy_key
FROM events_job j
LEFT JOIN (
    SELECT job_id, count(*) AS hires FROM events_application WHERE furthest_stage = 4 GROUP BY job_id
) h ON h.job_id = j.id
"""

COMPLIANCE_DAILY_V2 = """
SELECT facility_id, checked_date, status, severity, expires_on, count(*)::bigint AS checks,
       sum(score)::bigint AS score_sum, sum(privacy_key)::bigint AS checks_keys
FROM events_compliancecheck
GROUP BY facility_id, checked_date, status, severity, expires_on
"""

# ``placement_key``: the placement's own key, so placements invoiced are keyed like invoices.
REVENUE_DAILY_V2 = """
SELECT i.facility_id, i.issued_date, i.placement_id, sum(i.amount) AS revenue, count(*)::bigint AS invoices,
       sum(i.privacy_key)::bigint AS invoices_keys, min(p.privacy_key)::bigint AS placement_key
FROM events_invoice i
JOIN events_placement p ON p.id = i.placement_id
GROUP BY i.facility_id, i.issued_date, i.placement_id
"""

PLACEMENTS_V2 = """
SELECT id AS placement_id, facility_id, start_date, end_date, privacy_key FROM events_placement
"""

OUTREACH_DAILY_V2 = """
SELECT facility_id, sent_date, channel, count(*)::bigint AS sent, count(replied_at)::bigint AS replied,
       sum(privacy_key)::bigint AS sent_keys,
       coalesce(sum(privacy_key) FILTER (WHERE replied_at IS NOT NULL), 0)::bigint AS replied_keys
FROM events_outreachmessage
GROUP BY facility_id, sent_date, channel
"""

OUTREACH_REPLIES_V2 = """
SELECT id AS message_id, facility_id, sent_date, extract(epoch FROM replied_at - sent_at)::bigint AS seconds_to_reply,
       privacy_key
FROM events_outreachmessage
WHERE replied_at IS NOT NULL
"""

# A candidate's key is the candidate record's; conversion counts candidates.
CANDIDATE_CONTACTS_V2 = """
SELECT m.candidate_id, m.facility_id, m.sent_date, min(m.sent_at) AS first_sent_at, min(c.privacy_key) AS candidate_key
FROM events_outreachmessage m
JOIN events_candidate c ON c.id = m.candidate_id
GROUP BY m.candidate_id, m.facility_id, m.sent_date
"""

CANDIDATE_SKILLS_V2 = """
SELECT skill, facility_id, registered_date, count(*)::bigint AS candidates, sum(privacy_key)::bigint AS candidates_keys
FROM events_candidate, unnest(skills) AS skill
GROUP BY skill, facility_id, registered_date
"""

# Status changes are records (their own keys); hires here are the moves to hired among them.
RECRUITER_DAILY_V2 = """
SELECT h.facility_id, h.occurred_date, h.actor, count(*)::bigint AS status_changes,
       count(*) FILTER (WHERE h.status = 'hired')::bigint AS hires,
       coalesce(sum(extract(epoch FROM a.hired_at - a.applied_at)) FILTER (WHERE h.status = 'hired'), 0)::bigint
           AS seconds_to_hire_sum,
       sum(h.privacy_key)::bigint AS status_changes_keys,
       coalesce(sum(h.privacy_key) FILTER (WHERE h.status = 'hired'), 0)::bigint AS hires_keys
FROM events_applicationstatuschange h
JOIN events_application a ON a.id = h.application_id
WHERE h.actor <> ''
GROUP BY h.facility_id, h.occurred_date, h.actor
"""

ACTOR_DAYS_V2 = """
SELECT local_date, actor, facility_id, count(*)::bigint AS events,
       hashtextextended(actor, (SELECT seed FROM analytics_privacy_seed)) & 2147483647 AS actor_key
FROM events_event
WHERE actor IS NOT NULL AND actor <> ''
GROUP BY local_date, actor, facility_id
"""

EVENT_TYPES_DAILY_V2 = """
SELECT local_date, facility_id, type, count(*)::bigint AS events,
       sum(uuid_hash_extended(id, (SELECT seed FROM analytics_privacy_seed)) & 2147483647)::bigint AS events_keys
FROM events_event
WHERE actor IS NOT NULL AND actor <> ''
GROUP BY local_date, facility_id, type
"""

RECRUITER_TOTALS_V2 = """
WITH daily AS (
    SELECT occurred_date, actor, sum(status_changes)::bigint AS status_changes, sum(hires)::bigint AS hires,
           sum(seconds_to_hire_sum)::bigint AS seconds_to_hire_sum,
           sum(status_changes_keys)::bigint AS status_changes_keys, sum(hires_keys)::bigint AS hires_keys
    FROM analytics_recruiter_daily
    GROUP BY occurred_date, actor
)
SELECT 'day'::text AS grain, occurred_date AS bucket, actor, status_changes, hires, seconds_to_hire_sum,
       status_changes_keys, hires_keys
FROM daily
UNION ALL
SELECT 'month'::text, date_trunc('month', occurred_date)::date, actor, sum(status_changes)::bigint, sum(hires)::bigint,
       sum(seconds_to_hire_sum)::bigint, sum(status_changes_keys)::bigint, sum(hires_keys)::bigint
FROM daily
GROUP BY date_trunc('month', occurred_date), actor
"""

REVENUE_DAYS_V2 = """
SELECT facility_id, issued_date, prev_date, sum(revenue) AS revenue, sum(invoices)::bigint AS invoices,
       count(*)::bigint AS placements, sum(invoices_keys)::bigint AS invoices_keys,
       sum(placement_key)::bigint AS placements_keys
FROM (
    SELECT facility_id, issued_date, revenue, invoices, invoices_keys, placement_key,
           lag(issued_date) OVER (PARTITION BY facility_id, placement_id ORDER BY issued_date) AS prev_date
    FROM analytics_revenue_daily
) invoiced
GROUP BY facility_id, issued_date, prev_date
"""

REPLY_HISTOGRAM_V2 = REPLY_HISTOGRAM_V1.replace(
    "count(*)::bigint AS replies,", "count(*)::bigint AS replies, sum(privacy_key)::bigint AS replies_keys,"
)

CONTACT_FIRSTS_V2 = """
SELECT sent_date, prev_date, converted, count(*)::bigint AS candidates, sum(candidate_key)::bigint AS candidates_keys
FROM (
    SELECT c.sent_date, c.candidate_key,
           lag(c.sent_date) OVER (PARTITION BY c.candidate_id ORDER BY c.sent_date) AS prev_date,
           EXISTS (
               SELECT 1 FROM analytics_candidate_applications a
               WHERE a.candidate_id = c.candidate_id
                 AND a.applied_at >= c.first_at AND a.applied_at <= c.first_at + interval '30 days'
           ) AS converted
    FROM (
        SELECT candidate_id, sent_date, min(first_sent_at) AS first_at, min(candidate_key) AS candidate_key
        FROM analytics_candidate_contacts
        GROUP BY candidate_id, sent_date
    ) c
) contacted
GROUP BY sent_date, prev_date, converted
"""

ACTOR_DAY_SETS_V2 = """
SELECT local_date, facility_ids, unscoped, prev_date, count(*)::bigint AS actors, sum(actor_key)::bigint AS actors_keys
FROM (
    SELECT local_date, actor, min(actor_key) AS actor_key,
           coalesce(array_agg(facility_id ORDER BY facility_id) FILTER (WHERE facility_id IS NOT NULL),
                    '{}') AS facility_ids,
           bool_or(facility_id IS NULL) AS unscoped,
           lag(local_date) OVER (PARTITION BY actor ORDER BY local_date) AS prev_date
    FROM analytics_actor_days
    GROUP BY actor, local_date
) actor_day
GROUP BY local_date, facility_ids, unscoped, prev_date
"""

ACTOR_FIRST_SEEN_V2 = """
SELECT actor, facility_id, min(local_date) AS first_date, min(actor_key) AS actor_key
FROM analytics_actor_days
GROUP BY actor, facility_id
"""

# One row per (actor, facility or none): the days the actor was active there, as a multirange
# (runs of consecutive days collapse into one range). Distinct actors of any scope and window are
# a scan of the scope's rows, not of its actor-days (docs/decisions.md); it replaces
# ACTOR_FIRST_SEEN, whose first_date is the multirange's lower bound.
ACTOR_SPANS_V1 = """
SELECT actor, facility_id, range_agg(daterange(local_date, local_date, '[]')) AS days,
       min(local_date) AS first_date, min(actor_key) AS actor_key
FROM analytics_actor_days
GROUP BY actor, facility_id
"""

# CANDIDATE_CONTACTS_V2 and, per row, the facilities the candidate applied at within 30 days of
# the row's first message: a scope's conversion is then read from each candidate's first contact
# row in the scope (``applied_facilities && scope``), with no search of applications per question.
CANDIDATE_CONTACTS_V3 = """
SELECT c.*,
       ARRAY(SELECT DISTINCT a.facility_id FROM analytics_candidate_applications a
             WHERE a.candidate_id = c.candidate_id
               AND a.applied_at >= c.first_sent_at AND a.applied_at <= c.first_sent_at + interval '30 days'
             ORDER BY a.facility_id) AS applied_facilities
FROM (
    SELECT m.candidate_id, m.facility_id, m.sent_date, min(m.sent_at) AS first_sent_at,
           min(cand.privacy_key) AS candidate_key
    FROM events_outreachmessage m
    JOIN events_candidate cand ON cand.id = m.candidate_id
    GROUP BY m.candidate_id, m.facility_id, m.sent_date
) c
"""

# CONTACT_FIRSTS_V2 with each contact day's conversion read from CANDIDATE_CONTACTS_V3 (the row
# with the day's first message) instead of searched again.
CONTACT_FIRSTS_V3 = """
SELECT sent_date, prev_date, converted, count(*)::bigint AS candidates, sum(candidate_key)::bigint AS candidates_keys
FROM (
    SELECT sent_date, candidate_key, converted,
           lag(sent_date) OVER (PARTITION BY candidate_id ORDER BY sent_date) AS prev_date
    FROM (
        SELECT DISTINCT ON (candidate_id, sent_date) candidate_id, sent_date, candidate_key,
               cardinality(applied_facilities) > 0 AS converted
        FROM analytics_candidate_contacts
        ORDER BY candidate_id, sent_date, first_sent_at
    ) c
) contacted
GROUP BY sent_date, prev_date, converted
"""

# --- Recomputing a few buckets of a view kept up to date as events apply (analytics.rollups) ----
# Most views recompute a bucket through their own definition filtered to it (PostgreSQL pushes the
# filter below the grouping). These two cannot be filtered that way and say how instead; each
# takes %(facilities)s and %(days)s (arrays), and RECRUITER_TOTALS also %(months)s.

# A job's hires count reads every application of the job: one probe per job of the buckets
# (the view's own definition would count the hires of every job first).
JOBS_RECOMPUTE_V1 = """
SELECT j.id AS job_id, j.facility_id, j.opened_date, j.filled_date, j.positions, j.specialty, j.bill_rate, j.skills,
       extract(epoch FROM j.filled_at - j.opened_at)::bigint AS seconds_to_fill,
       (SELECT count(*) FROM events_application a WHERE a.job_id = j.id AND a.furthest_stage = 4)::bigint AS hires,
       j.privacy_key
FROM events_job j
WHERE j.facility_id = ANY(%(facilities)s) AND j.opened_date = ANY(%(days)s)
"""

# The days touched, and the whole months they fall in, added up again over every facility.
RECRUITER_TOTALS_RECOMPUTE_V1 = """
SELECT 'day'::text AS grain, occurred_date AS bucket, actor, sum(status_changes)::bigint, sum(hires)::bigint,
       sum(seconds_to_hire_sum)::bigint, sum(status_changes_keys)::bigint, sum(hires_keys)::bigint
FROM analytics_recruiter_daily
WHERE occurred_date = ANY(%(days)s)
GROUP BY occurred_date, actor
UNION ALL
SELECT 'month'::text, date_trunc('month', occurred_date)::date, actor, sum(status_changes)::bigint,
       sum(hires)::bigint, sum(seconds_to_hire_sum)::bigint, sum(status_changes_keys)::bigint, sum(hires_keys)::bigint
FROM analytics_recruiter_daily
WHERE occurred_date >= (SELECT min(m) FROM unnest(%(months)s::date[]) AS m)
  AND occurred_date < (SELECT max(m) FROM unnest(%(months)s::date[]) AS m) + interval '1 month'
  AND date_trunc('month', occurred_date)::date = ANY(%(months)s)
GROUP BY date_trunc('month', occurred_date), actor
"""
RECRUITER_TOTALS_REMOVE_V1 = (
    "(grain = 'day' AND bucket = ANY(%(days)s)) OR (grain = 'month' AND bucket = ANY(%(months)s))"
)
