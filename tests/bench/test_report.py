import copy
from typing import Any

from bench import report

RESULT: dict[str, Any] = {
    "profile": "default",
    "customers": 20,
    "interval_s": 2.0,
    "duration_s": 60.0,
    "startup_seconds": 58.2,
    "phases": [
        {
            "phase": "full stack",
            "messages": 600,
            "errors": 0,
            "throughput_per_s": 10.0,
            "p50_ms": 120.0,
            "p95_ms": 240.0,
            "p99_ms": 400.0,
            "max_ms": 900.0,
        },
        {
            "phase": "bare Rasa",
            "messages": 600,
            "errors": 0,
            "throughput_per_s": 10.0,
            "p50_ms": 100.0,
            "p95_ms": 200.0,
            "p99_ms": 300.0,
            "max_ms": 500.0,
        },
        {
            "phase": "NLU /model/parse",
            "messages": 150,
            "errors": 0,
            "throughput_per_s": 100.0,
            "p50_ms": 9.0,
            "p95_ms": 11.0,
            "p99_ms": 12.0,
            "max_ms": 13.0,
        },
    ],
    "ratios": {"p50_full_over_bare": 1.2, "p95_full_over_bare": 1.2, "p50_full_over_nlu": 13.3},
    "peak_rss_mb": {"gateway": 300.0, "rasa": 1700.0, "actions": 1900.0},
    "cpus": 2,
}


def test_every_target_met_is_ticked() -> None:
    assert all(ok for _, ok in report.verdicts(RESULT))
    text = report.summary(RESULT)
    assert "✗" not in text and text.count("✓") == 4
    assert "full stack" in text and "240.0" in text


def test_a_missed_target_is_crossed() -> None:
    slow = copy.deepcopy(RESULT)
    slow["phases"][0]["p95_ms"], slow["phases"][0]["errors"], slow["startup_seconds"] = 251.0, 2, 61
    assert [ok for _, ok in report.verdicts(slow)] == [False, False, True, False]
    assert report.summary(slow).count("✗") == 3


def test_the_page_has_the_table_the_target_and_both_charts() -> None:
    page = report.render_html(RESULT)
    assert page.count("<svg") == 2 and "p95 target 250 ms" in page
    assert all(f"<th>{p['phase']}</th>" in page for p in RESULT["phases"])
    assert "<script" not in page


def test_a_soak_page_draws_memory_over_time() -> None:
    soak = {
        "profile": "default",
        "customers": 20,
        "interval_s": 2.0,
        "soak_seconds": 60,
        "phases": [dict(RESULT["phases"][0], phase="soak")],
        "memory_samples_mb": [
            {"t_s": t, "gateway": 300.0, "rasa": 1700.0 + t, "actions": 1900.0} for t in (0, 30, 60)
        ],
        "rss_growth_percent_after_warm_up": {"gateway": 0.0, "rasa": 1.7, "actions": 0.0},
    }
    page = report.render_html(soak)
    assert page.count("<polyline") == 3 and "rasa +1.7 %" in page
    assert "RSS growth" in report.summary(soak)


def capacity_step(customers: int, p95: float, errors: int = 0) -> dict[str, Any]:
    row = dict(RESULT["phases"][0], phase="full stack", p95_ms=p95, errors=errors)
    return {
        "customers": customers,
        "offered_per_s": customers / 2,
        **row,
        "within_target": p95 <= 250 and not errors,
    }


def test_a_capacity_run_names_the_largest_load_within_target() -> None:
    steps = [capacity_step(20, 160.0), capacity_step(40, 240.0), capacity_step(60, 900.0)]
    result = {
        "profile": "default",
        "customers": [20, 40, 60],
        "interval_s": 2.0,
        "duration_s": 30.0,
        "steps": steps,
        "largest_within_target": 40,
        "cpus": 2,
    }
    text = report.summary(result)
    assert "largest load within target (p95 ≤ 250 ms, no errors): 40 customers" in text
    assert [line.split()[-1] for line in text.splitlines()[2:5]] == ["yes", "yes", "no"]
    page = report.render_html(result)
    assert page.count("<polyline") == 3 and "20, 40, 60 concurrent customers" in page


def test_a_capacity_run_that_never_held_says_so() -> None:
    result = {
        "profile": "default",
        "customers": [80],
        "interval_s": 2.0,
        "duration_s": 30.0,
        "steps": [capacity_step(80, 300.0)],
        "largest_within_target": None,
        "cpus": 2,
    }
    assert report.summary(result).endswith("none of the loads")


def test_another_profile_is_measured_against_the_default_profiles_targets() -> None:
    scaled = {**copy.deepcopy(RESULT), "profile": "scaled", "startup_seconds": 82}
    labels = dict(report.verdicts(scaled))
    assert labels["startup ≤ 60 s (the default profile's target)"] is False
    assert all(label.endswith("(the default profile's target)") for label in labels)
