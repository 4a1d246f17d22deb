"""How a load benchmark's results are shown: the console table, the verdicts against the targets,
and the HTML page with charts (``reports/bench-<profile>.html``)."""

from __future__ import annotations

import html
from typing import Any

from bot.charts import bar_chart, line_chart, nice_ceiling, page

TARGET_P95_MS, TARGET_RATIO, TARGET_STARTUP_S = 250, 1.5, 60
COLUMNS = (
    ("messages", "msgs"),
    ("errors", "errors"),
    ("throughput_per_s", "msg/s"),
    ("p50_ms", "p50 ms"),
    ("p95_ms", "p95 ms"),
    ("p99_ms", "p99 ms"),
    ("max_ms", "max ms"),
)
LATENCIES = (("p50_ms", "p50"), ("p95_ms", "p95"), ("p99_ms", "p99"))


def table(phases: list[dict[str, Any]]) -> str:
    head = f"{'phase':<18}" + "".join(f"{title:>9}" for _, title in COLUMNS)
    lines = [head, "-" * len(head)]
    for row in phases:
        lines.append(f"{row['phase']:<18}" + "".join(f"{row[key]:>9}" for key, _ in COLUMNS))
    return "\n".join(lines)


def verdicts(result: dict[str, Any]) -> list[tuple[str, bool]]:
    """Each target of the default profile and whether this run met it (other profiles are held to the
    same numbers, and say so)."""
    full, ratio = result["phases"][0], result["ratios"]["p50_full_over_bare"]
    note = "" if result.get("profile", "default") == "default" else " (the default profile's target)"
    checks = [
        (f"p95 ≤ {TARGET_P95_MS} ms", full["p95_ms"] <= TARGET_P95_MS),
        ("zero errors", full["errors"] == 0),
        (f"full-stack p50 ≤ {TARGET_RATIO}× bare Rasa p50", ratio <= TARGET_RATIO),
        (f"startup ≤ {TARGET_STARTUP_S} s", result["startup_seconds"] <= TARGET_STARTUP_S),
    ]
    return [(label + note, ok) for label, ok in checks]


def capacity_table(result: dict[str, Any]) -> str:
    head = f"{'customers':>9}{'msg/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}  within target"
    lines = [head, "-" * len(head)]
    for step in result["steps"]:
        lines.append(
            f"{step['customers']:>9}{step['throughput_per_s']:>8}{step['p50_ms']:>9}{step['p95_ms']:>9}"
            f"{step['p99_ms']:>9}{step['errors']:>8}  {'yes' if step['within_target'] else 'no'}"
        )
    return "\n".join(lines)


def summary(result: dict[str, Any]) -> str:
    """What ``make bench`` prints after the run."""
    if "steps" in result:
        largest = result["largest_within_target"]
        held = f"{largest} customers" if largest else "none of the loads"
        target = f"p95 ≤ {TARGET_P95_MS} ms, no errors"
        return f"{capacity_table(result)}\n\nlargest load within target ({target}): {held}"
    lines = [table(result["phases"]), ""]
    if "memory_samples_mb" in result:
        lines.append(f"RSS growth after warm-up (%): {result['rss_growth_percent_after_warm_up']}")
    else:
        lines.append(f"ratios: {result['ratios']}")
        lines.append(f"peak RSS (MB): {result['peak_rss_mb']}")
        lines.append(f"startup: {result['startup_seconds']} s on {result['cpus']} CPUs")
        lines.extend(f"  {'✓' if ok else '✗'} {label}" for label, ok in verdicts(result))
    return "\n".join(lines)


def render_html(result: dict[str, Any]) -> str:
    """The page people read: the table, latency bars against the target, memory."""
    customers = result["customers"]
    counts = ", ".join(map(str, customers)) if isinstance(customers, list) else customers
    load = f"{counts} concurrent customers, one message every {result['interval_s']} s"
    intro = f"<p>Profile {html.escape(str(result['profile']))}: {html.escape(load)}.</p>"
    if "steps" in result:
        return page("Load benchmark: capacity", [intro, *_capacity_parts(result)])
    parts = [intro, _html_table(result)]
    if "memory_samples_mb" in result:
        parts.extend(_soak_parts(result))
    else:
        parts.extend(_benchmark_parts(result))
    return page("Load benchmark", parts)


def _html_table(result: dict[str, Any]) -> str:
    head = "".join(f"<th>{html.escape(title)}</th>" for _, title in COLUMNS)
    rows = "".join(
        f"<tr><th>{html.escape(row['phase'])}</th>"
        + "".join(f"<td>{html.escape(str(row[key]))}</td>" for key, _ in COLUMNS)
        + "</tr>"
        for row in result["phases"]
    )
    return f"<table><tr><th>phase</th>{head}</tr>{rows}</table>"


def _benchmark_parts(result: dict[str, Any]) -> list[str]:
    phases = result["phases"]
    highest = max(max(p[key] for key, _ in LATENCIES) for p in phases)
    latency = bar_chart(
        "End-to-end latency (ms)",
        [p["phase"] for p in phases],
        [name for _, name in LATENCIES],
        [[p[key] for key, _ in LATENCIES] for p in phases],
        maximum=nice_ceiling(max(highest, TARGET_P95_MS)),
        value_format="{:.0f}",
        reference=(f"p95 target {TARGET_P95_MS} ms", TARGET_P95_MS),
    )
    memory = result["peak_rss_mb"]
    rss = bar_chart(
        "Peak resident memory per process (MB)",
        list(memory),
        ["peak RSS"],
        [[value] for value in memory.values()],
        maximum=nice_ceiling(max(memory.values(), default=1.0)),
        value_format="{:.0f}",
    )
    checks = "".join(f"<li>{'✓' if ok else '✗'} {html.escape(label)}</li>" for label, ok in verdicts(result))
    ratios = ", ".join(f"{html.escape(k)} = {v}" for k, v in result["ratios"].items())
    return [
        f"<p>Startup {result['startup_seconds']} s on {result['cpus']} CPUs. Ratios: {ratios}.</p>",
        f"<ul>{checks}</ul>",
        f"<div>{latency}{rss}</div>",
    ]


def _soak_parts(result: dict[str, Any]) -> list[str]:
    samples = result["memory_samples_mb"]
    names = [key for key in samples[0] if key != "t_s"] if samples else []
    chart = line_chart(
        "Resident memory during the soak (MB)",
        [s["t_s"] for s in samples],
        {name: [s[name] for s in samples] for name in names},
        "s",
        "MB",
    )
    growth = ", ".join(
        f"{html.escape(name)} {percent:+.1f} %"
        for name, percent in result["rss_growth_percent_after_warm_up"].items()
    )
    return [f"<p>Memory growth after warm-up: {growth}.</p>", f"<div>{chart}</div>"]


def _capacity_parts(result: dict[str, Any]) -> list[str]:
    steps = result["steps"]
    head = "".join(
        f"<th>{t}</th>"
        for t in ("customers", "msg/s", "p50 ms", "p95 ms", "p99 ms", "errors", "within target")
    )
    rows = "".join(
        "<tr>"
        + "".join(
            f"<td>{html.escape(str(step[key]))}</td>"
            for key in ("customers", "throughput_per_s", "p50_ms", "p95_ms", "p99_ms", "errors")
        )
        + f"<td>{'yes' if step['within_target'] else 'no'}</td></tr>"
        for step in steps
    )
    chart = line_chart(
        "Full-stack latency by load (ms)",
        [step["customers"] for step in steps],
        {name: [step[key] for step in steps] for key, name in LATENCIES},
        "customers",
        "ms",
    )
    largest = result["largest_within_target"]
    verdict = f"Largest load within the p95 target of {TARGET_P95_MS} ms with no errors: {largest or 'none'}."
    return [f"<table><tr>{head}</tr>{rows}</table>", f"<p>{html.escape(verdict)}</p>", f"<div>{chart}</div>"]
