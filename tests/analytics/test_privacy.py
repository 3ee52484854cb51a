"""Small-cell suppression, rule by rule (threshold 11: 1..10 are small)."""

from decimal import Decimal

import pytest

from analytics.privacy import Breakdown, Count, Mean, Money, Rate, privacy_render


def render(metrics, suppress=True):
    return privacy_render({"metrics": metrics}, suppress=suppress, threshold=11)


@pytest.mark.parametrize(("value", "shown"), [(0, 0), (1, None), (10, None), (11, 11), (250, 250)])
def test_counts_from_1_to_10_are_hidden_and_zero_stays(value, shown):
    body, suppressed = render({"applications": Count(value)})

    assert body["metrics"]["applications"] == shown
    assert suppressed == ([] if shown is not None else ["metrics.applications"])


@pytest.mark.parametrize(
    ("numerator", "denominator", "shown"),
    [
        (5, 100, None),  # small numerator
        (12, 100, 0.12),
        (12, 15, None),  # the difference, 3, is small
        (0, 8, None),  # small denominator
        (0, 40, 0.0),
        (40, 40, 1.0),  # difference zero is not small
        (0, 0, None),  # over nothing: null, but nothing is hidden
    ],
)
def test_rates_hide_when_numerator_denominator_or_difference_is_small(numerator, denominator, shown):
    body, suppressed = render({"hire_rate": Rate(numerator, denominator)})

    assert body["metrics"]["hire_rate"] == shown
    assert (suppressed == ["metrics.hire_rate"]) == (shown is None and denominator > 0)


def test_a_mean_over_few_items_is_hidden():
    body, suppressed = render({"time_to_hire_days": {"mean": Mean(12.5, 4), "median": Mean(11.0, 11)}})

    assert body["metrics"]["time_to_hire_days"] == {"mean": None, "median": 11.0}
    assert suppressed == ["metrics.time_to_hire_days.mean"]


def test_money_totals_stay_but_a_money_mean_over_few_is_hidden():
    body, suppressed = render(
        {"total_revenue": Money(Decimal("1234.567")), "avg_revenue_per_placement": Mean(617.28, 2)}
    )

    assert body["metrics"] == {"total_revenue": 1234.57, "avg_revenue_per_placement": None}
    assert suppressed == ["metrics.avg_revenue_per_placement"]


def test_one_hidden_cell_in_a_breakdown_hides_the_next_smallest_non_zero():
    by_status = Breakdown({"applied": Count(40), "screening": Count(25), "hired": Count(0), "rejected": Count(12),
                           "withdrawn": Count(3)})  # fmt: skip

    body, suppressed = render({"by_status": by_status})

    assert body["metrics"]["by_status"] == {"applied": 40, "screening": 25, "hired": 0, "rejected": None,
                                            "withdrawn": None}  # fmt: skip
    assert suppressed == ["metrics.by_status.withdrawn", "metrics.by_status.rejected"]


def test_two_hidden_cells_need_no_complement():
    body, suppressed = render({"by_status": Breakdown({"a": Count(40), "b": Count(2), "c": Count(3)})})

    assert body["metrics"]["by_status"] == {"a": 40, "b": None, "c": None}
    assert suppressed == ["metrics.by_status.b", "metrics.by_status.c"]


def test_rows_are_a_breakdown_too():
    rows = Breakdown(
        {
            "MERCY-01": {"facility": "MERCY-01", "metrics": {"applications": Count(120), "hires": Count(30)}},
            "STJ-02": {"facility": "STJ-02", "metrics": {"applications": Count(4), "hires": Count(12)}},
            "LAKE-03": {"facility": "LAKE-03", "metrics": {"applications": Count(60), "hires": Count(15)}},
        },
        as_list=True,
    )

    body, suppressed = privacy_render({"rows": rows}, suppress=True, threshold=11)

    assert body["rows"] == [
        {"facility": "MERCY-01", "metrics": {"applications": 120, "hires": 30}},
        {"facility": "STJ-02", "metrics": {"applications": None, "hires": 12}},
        {"facility": "LAKE-03", "metrics": {"applications": None, "hires": 15}},
    ]
    assert suppressed == ["rows[1].metrics.applications", "rows[2].metrics.applications"]


def test_nothing_is_hidden_for_callers_who_may_see_everything():
    body, suppressed = render({"applications": Count(3), "hire_rate": Rate(1, 3), "by": Breakdown({"a": Count(1)})},
                              suppress=False)  # fmt: skip

    assert body["metrics"] == {"applications": 3, "hire_rate": 0.3333, "by": {"a": 1}}
    assert suppressed == []


def _key_for(noise_wanted: int, count: int) -> int:
    """A cell key whose p-table noise for ``count`` is ``noise_wanted`` (D = 3)."""
    from analytics.perturbation import noise

    return next(key for key in range(0, 2**31, 2**31 // 64) if noise(count=count, key=key, max_noise=3) == noise_wanted)


def test_ranked_rows_follow_the_values_the_caller_is_shown():
    """Ana has 20 hires (shown 17), Ben 18 (shown 21), Cy 5 (hidden), Di 30: a Viewer's list is
    ordered by what it is shown, hidden rows last, and a cut keeps the first shown; an Admin's
    by the true counts."""
    from analytics.privacy import Ranked

    rows = [
        ("ana", {"recruiter": "ana", "hires": Count(20, _key_for(-3, 20))}),
        ("ben", {"recruiter": "ben", "hires": Count(18, _key_for(+3, 18))}),
        ("cy", {"recruiter": "cy", "hires": Count(5, _key_for(0, 5))}),
        ("di", {"recruiter": "di", "hires": Count(30, _key_for(0, 30))}),
    ]
    metrics = {"by_recruiter": Ranked(rows, by="hires"), "top": Ranked(rows, by="hires", limit=2)}

    viewer, hidden = privacy_render(metrics, suppress=True, threshold=11, max_noise=3)
    admin, _ = privacy_render(metrics, suppress=False, threshold=11, max_noise=3)

    assert [(row["recruiter"], row["hires"]) for row in viewer["by_recruiter"]] == [
        ("di", 30), ("ben", 21), ("ana", 17), ("cy", None)
    ]  # fmt: skip
    assert "by_recruiter[3].hires" in hidden
    assert [row["recruiter"] for row in viewer["top"]] == ["di", "ben"]
    assert [(row["recruiter"], row["hires"]) for row in admin["by_recruiter"]] == [
        ("di", 30), ("ana", 20), ("ben", 18), ("cy", 5)
    ]  # fmt: skip


def test_ranked_counts_render_as_an_object_in_shown_order():
    from analytics.privacy import Ranked

    counts = Ranked([("login", Count(40, _key_for(0, 40))), ("view", Count(50, _key_for(0, 50)))], as_dict=True)

    body, _ = privacy_render({"events_by_type": counts}, suppress=True, threshold=11, max_noise=3)

    assert list(body["events_by_type"].items()) == [("view", 50), ("login", 40)]
