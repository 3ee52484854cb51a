"""Attacks a determined Viewer can make with nothing but the API (and its reports), each on many
hidden cells of 1..10: how often the hidden value comes out exactly.

Without perturbation every attack here recovers every hidden cell (the control test shows it).
With consistent perturbation (D = 3) two overlapping cells have independent noises, so a
difference is exact only when the noises agree: sum(p_j^2) = 0.172 for two cells
(analytics.perturbation.exact_recovery_rate), less for attacks that need three or four cells.
Each attack's measured rate must stay within three standard errors of that prediction over the
days attacked, and well under half.
"""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from django.conf import settings

from analytics.perturbation import exact_recovery_rate
from tests.factories import jwt_client
from tests.privacy.conftest import DAYS, FIRST_DAY

PIPELINE = "/api/v1/analytics/pipeline/"
DAYS_ATTACKED = [FIRST_DAY + timedelta(days=n) for n in range(1, DAYS)]


def ask(client, path: str, start, end, **params) -> dict:
    response = client.get(path, {"start_date": start.isoformat(), "end_date": end.isoformat(), **params})
    assert response.status_code == 200, response.content
    return response.json()


def applications(client, start, end, **params) -> int | None:
    return ask(client, PIPELINE, start, end, **params)["metrics"]["applications"]


def recovery(guesses: dict, actual: dict) -> float:
    """The share of hidden cells whose guess is exactly right (a guess of None is a miss)."""
    return sum(1 for day, guess in guesses.items() if guess is not None and guess == actual[day]) / len(guesses)


def assert_no_better_than_predicted(rate: float, samples: int) -> None:
    predicted = exact_recovery_rate(settings.PRIVACY_MAX_NOISE)
    bound = predicted + 3 * math.sqrt(predicted * (1 - predicted) / samples)
    assert predicted < 0.2 and bound < 0.5
    assert rate <= bound, f"recovered {rate:.0%} of hidden cells exactly; the design predicts {predicted:.0%}"


def difference(later: int | None, earlier: int | None) -> int | None:
    return None if later is None or earlier is None else later - earlier


# --- the hidden cells really are hidden ---------------------------------------------------------


def test_the_attacked_days_are_hidden_or_perturbed_for_the_viewer(carol, truth, facility_a):
    """A single day of 1..10 is below the cell size: hidden, unless its noise lifts it to 11..13,
    when it is shown perturbed (suppression judges the perturbed value, as the method requires)."""
    client = jwt_client(carol)
    limit = settings.PRIVACY_MIN_CELL_SIZE
    hidden = 0
    for day in DAYS_ATTACKED[:20]:
        actual = truth.between(facility_a.id, day, day)
        answer = ask(client, PIPELINE, day, day)
        shown = answer["metrics"]["applications"]
        assert 1 <= actual < limit and answer["perturbed"] is True
        if shown is None:
            hidden += 1
        else:
            assert limit <= shown <= actual + settings.PRIVACY_MAX_NOISE
    assert hidden >= 15


# --- attack 1: overlapping date ranges ----------------------------------------------------------


def test_overlapping_date_ranges(carol, truth, facility_a):
    """Carol asks [first, d] and [first, d - 1]: the difference is day d."""
    client = jwt_client(carol)
    guesses = {
        day: difference(applications(client, FIRST_DAY, day), applications(client, FIRST_DAY, day - timedelta(days=1)))
        for day in DAYS_ATTACKED
    }
    actual = {day: truth.between(facility_a.id, day, day) for day in DAYS_ATTACKED}
    assert_no_better_than_predicted(recovery(guesses, actual), len(guesses))


def test_without_perturbation_the_same_attack_recovers_every_cell(carol, truth, facility_a, settings):
    """The control: suppression alone (D = 0) loses every hidden day to the attack above."""
    settings.PRIVACY_MAX_NOISE = 0
    client = jwt_client(carol)
    start = FIRST_DAY - timedelta(days=1)  # the day of 200, so that every period asked is shown
    guesses = {
        day: difference(applications(client, start, day), applications(client, start, day - timedelta(days=1)))
        for day in DAYS_ATTACKED[:15]
    }
    actual = {day: truth.between(facility_a.id, day, day) for day in guesses}
    assert recovery(guesses, actual) == 1.0


# --- attack 2: facility subsets -----------------------------------------------------------------


def test_facility_subsets(valerie, truth, facility_a):
    """Valerie sees A and B: (A and B) over [first, d] minus B over it, minus A over [first, d - 1]."""
    client = jwt_client(valerie)
    guesses = {}
    for day in DAYS_ATTACKED:
        both = applications(client, FIRST_DAY, day, facility=["MERCY-01", "STJ-02"])
        only_b = applications(client, FIRST_DAY, day, facility="STJ-02")
        a_before = applications(client, FIRST_DAY, day - timedelta(days=1), facility="MERCY-01")
        guesses[day] = difference(difference(both, only_b), a_before)
    actual = {day: truth.between(facility_a.id, day, day) for day in DAYS_ATTACKED}
    assert_no_better_than_predicted(recovery(guesses, actual), len(guesses))


# --- attack 3: group_by=facility rows against totals ---------------------------------------------


def test_group_by_facility_rows_against_totals(valerie, truth, facility_a):
    """The overall total minus B's row, on two overlapping periods: A's day d."""
    client = jwt_client(valerie)

    def a_by_subtraction(end) -> int | None:
        answer = ask(client, PIPELINE, FIRST_DAY, end, group_by="facility")
        row_b = next(row for row in answer["rows"] if row["facility"] == "STJ-02")
        return difference(answer["metrics"]["applications"], row_b["metrics"]["applications"])

    guesses = {
        day: difference(a_by_subtraction(day), a_by_subtraction(day - timedelta(days=1))) for day in DAYS_ATTACKED
    }
    actual = {day: truth.between(facility_a.id, day, day) for day in DAYS_ATTACKED}
    assert_no_better_than_predicted(recovery(guesses, actual), len(guesses))


# --- attack 4: trends buckets against period totals ----------------------------------------------


def test_trends_buckets_against_period_totals(carol, truth, facility_a):
    """The monthly bucket of [first, d] (all of it, in March) minus the pipeline total of
    [first, d - 1]."""
    client = jwt_client(carol)
    march = [day for day in DAYS_ATTACKED if day.month == FIRST_DAY.month]
    guesses = {}
    for day in march:
        series = ask(client, "/api/v1/analytics/trends/", FIRST_DAY, day, granularity="month")["metrics"]["series"]
        guesses[day] = difference(series[0]["value"], applications(client, FIRST_DAY, day - timedelta(days=1)))
    actual = {day: truth.between(facility_a.id, day, day) for day in march}
    assert_no_better_than_predicted(recovery(guesses, actual), len(guesses))


# --- attack 5: metrics against pipeline ----------------------------------------------------------


def test_metrics_against_pipeline(carol, truth, facility_a):
    """``metrics``' candidate_pipeline.new over [first, d] minus pipeline's by_status.applied over
    [first, d - 1]: the applications still 'applied' from day d (a quarter of them here)."""
    client = jwt_client(carol)
    guesses = {}
    for day in DAYS_ATTACKED:
        metrics = ask(client, "/api/v1/analytics/metrics/", FIRST_DAY, day, metric_types="candidate_pipeline")
        pipeline = ask(client, PIPELINE, FIRST_DAY, day - timedelta(days=1))
        guesses[day] = difference(
            metrics["metrics"]["candidate_pipeline"]["new"], pipeline["metrics"]["by_status"]["applied"]
        )
    actual = {day: truth.between(facility_a.id, day, day) // 4 for day in DAYS_ATTACKED}
    hidden = {day: guess for day, guess in guesses.items() if actual[day] > 0}
    assert_no_better_than_predicted(recovery(hidden, actual), len(hidden))


# --- attack 6: dashboard against KPIs -----------------------------------------------------------


def test_dashboard_series_against_kpis(carol, truth, facility_a):
    """The dashboard's headline over [first, d] minus the pipeline over [first, d - 1]."""
    client = jwt_client(carol)
    guesses = {
        day: difference(
            ask(client, "/api/v1/analytics/dashboard/", FIRST_DAY, day)["metrics"]["applications"],
            applications(client, FIRST_DAY, day - timedelta(days=1)),
        )
        for day in DAYS_ATTACKED
    }
    actual = {day: truth.between(facility_a.id, day, day) for day in DAYS_ATTACKED}
    assert_no_better_than_predicted(recovery(guesses, actual), len(guesses))


# --- attack 7: a report file against the API ------------------------------------------------------


def test_a_report_file_says_what_the_api_says(carol, truth, tmp_path):
    """A Viewer's report is perturbed exactly like the API's answer to the same question, so a file
    adds nothing to the differencing above."""
    import openpyxl

    from reports.building import report_build
    from tests.reports.conftest import make_report

    client = jwt_client(carol)
    report = make_report(carol, kpi="pipeline")
    for offset in (5, 17, 33):
        end = FIRST_DAY + timedelta(days=offset)
        built = report_build(report=report, start=FIRST_DAY, end=end, directory=tmp_path, stem=f"r{offset}")
        summary = dict(openpyxl.load_workbook(built.path)["Summary"].iter_rows(min_row=2, values_only=True))
        assert built.perturbed
        assert summary["Applications"] == applications(client, FIRST_DAY, end)


# --- attack 8: the same question again, and through another endpoint -----------------------------


@pytest.mark.parametrize("repeat", [2])
def test_the_same_question_gets_the_same_answer_however_it_is_asked(carol, truth, repeat):
    """Averaging repeated answers is no attack: the noise is a function of the records counted."""
    from django.core.cache import cache

    client = jwt_client(carol)
    for day in DAYS_ATTACKED[::6]:
        answers = []
        for _ in range(repeat):
            cache.clear()  # computed again, not read back from the cache
            answers.append(ask(client, PIPELINE, FIRST_DAY, day)["metrics"])
        assert answers[0] == answers[1]
        dashboard = ask(client, "/api/v1/analytics/dashboard/", FIRST_DAY, day)["metrics"]
        trends = ask(client, "/api/v1/analytics/trends/", FIRST_DAY, day, granularity="month")["metrics"]
        assert dashboard["applications"] == answers[0]["applications"]
        if day.month == FIRST_DAY.month:
            assert trends["series"][0]["value"] == answers[0]["applications"]
