import re

import pytest

from bot.charts import bar_chart, heatmap, line_chart, nice_ceiling, page


def test_bars_are_scaled_to_the_maximum_and_every_bar_is_labelled() -> None:
    values = [[50, 100], [0, 25]]
    svg = bar_chart("p95", ["A", "B"], ["one", "two"], values, maximum=100, value_format="{:.0f}")
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert svg.count("<rect") == 4 + 2  # bars + legend
    assert 'height="100.0"' in svg and 'height="200.0"' in svg  # 50 and 100 of a 200 px plot
    assert "<title>two: 25</title>" in svg


def test_a_bar_above_the_maximum_is_clipped_and_the_target_line_drawn() -> None:
    svg = bar_chart("p95", ["A"], ["one"], [[400]], maximum=300, reference=("target 250 ms", 250))
    assert 'height="200.0"' in svg
    assert "stroke-dasharray" in svg and "target 250 ms" in svg


def test_labels_are_text_never_markup() -> None:
    svg = bar_chart("<script>x</script>", ["<b>g</b>"], ["a&b"], [[0.5]])
    line = line_chart("<i>t</i>", [0, 1], {"<s>": [1.0, 2.0]}, "s", "MB")
    for chart in (svg, line):
        assert "<script>" not in chart and "<b>" not in chart and "<i>" not in chart and "<s>" not in chart
    assert "&lt;script&gt;" in svg and "a&amp;b" in svg and "&lt;s&gt;" in line


def test_a_line_has_one_point_per_sample_on_a_shared_scale() -> None:
    svg = line_chart("memory", [0, 30, 60], {"rasa": [100, 150, 200], "gateway": [50, 50, 50]}, "s", "MB")
    assert svg.count("<polyline") == 2
    rasa = svg.split('points="')[1].split('"')[0].split()
    assert len(rasa) == 3 and rasa[-1].endswith(",34.0")  # 200 MB is the top of a 0–200 axis


@pytest.mark.parametrize(
    ("value", "ceiling"), [(0.8, 1), (1, 1), (1.2, 2), (2.2, 2.5), (3, 5), (572, 1000), (240, 250), (0, 1)]
)
def test_axis_ends_on_a_round_number(value: float, ceiling: float) -> None:
    assert nice_ceiling(value) == ceiling


def test_a_page_is_one_self_contained_document() -> None:
    html = page("Bench & co", ["<p>x</p>"])
    assert html.startswith("<!DOCTYPE html>") and "<title>Bench &amp; co</title>" in html
    assert "<script" not in html and "<link" not in html


def test_a_heatmap_has_a_cell_per_count_shaded_by_its_share_of_the_row() -> None:
    svg = heatmap("confusions", ["a", "b"], ["a", "b", "fallback"], [[3, 1, 0], [0, 0, 0]])
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert svg.count("<rect") == 6
    cells = re.findall(r'fill="(#\w+)" fill-opacity="([\d.]+)"', svg)
    assert cells[0] == ("#4c78a8", "0.79")  # a → a: right, 3 of 4 (0.15 + 0.85 × 0.75)
    assert cells[1] == ("#e45756", "0.36")  # a → b: a mistake, 1 of 4
    assert [opacity for _, opacity in cells[2:]] == ["0.00"] * 4  # nothing there, and an empty row
    assert "<title>a → b: 1 (25%)</title>" in svg
    assert re.findall(r">(\d+)</text>", svg) == ["3", "1"]  # counts only where there are any


def test_heatmap_labels_are_text_never_markup() -> None:
    svg = heatmap("<b>t</b>", ["<script>"], ["<i>x</i>"], [[1]], axes=("<s>", "a&b"))
    assert "<script" not in svg and "<b>" not in svg and "<i>" not in svg and "<s>" not in svg
    assert "&lt;script&gt;" in svg and "&lt;i&gt;x&lt;/i&gt;" in svg and "a&amp;b" in svg


def test_heatmap_rows_and_counts_must_match() -> None:
    with pytest.raises(ValueError):
        heatmap("t", ["a", "b"], ["a"], [[1]])
