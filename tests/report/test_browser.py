"""The report in a real headless Chromium (Playwright): it opens from file:// without a console message, draws every
section, and its explorer filters, searches, sorts, opens rows and follows t-SNE selections and class-bar clicks."""

from __future__ import annotations

import csv
import json
import os
import re
from pathlib import Path

import pytest
from imagetools import random_rgb
from typer.testing import CliRunner

from dataset_audit.cli import app

CHROMIUM = os.environ.get("AUDIT_CHROMIUM", "/usr/bin/chromium")
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason=f"no Chromium at {CHROMIUM} (.ci/run installs Debian's chromium; set "
                                       "AUDIT_CHROMIUM to use another)")
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install '.[dev]')")
SAMPLE_CSV = Path(__file__).resolve().parents[2] / "sample_data" / "images.csv"
PHISH = '<a href="https://example.com/phish">click</a>'


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


class Page:
    """One report opened at 1400 px, with every console message and page error it produced.

    The report's Content-Security-Policy forbids evaluating strings, so waits use selectors, not wait_for_function.
    """

    def __init__(self, browser, report: Path, fragment: str = "") -> None:
        self.page = browser.new_page(viewport={"width": 1400, "height": 1000})
        self.console: list[str] = []
        self.page.on("console", lambda message: self.console.append(f"{message.type}: {message.text}"))
        self.page.on("pageerror", lambda error: self.console.append(f"pageerror: {error}"))
        self.page.goto(report.as_uri() + fragment)
        self.page.wait_for_selector("body[data-ready='1']", timeout=60_000)

    def status(self) -> tuple[int, int]:
        text = self.page.inner_text("#explorer .explorer-status")
        match = re.match(r"([\d,]+) rows? of ([\d,]+) match", text)
        assert match, text
        return int(match[1].replace(",", "")), int(match[2].replace(",", ""))

    def column(self, name: str) -> list[str]:
        """The cells of one column on the explorer's current page."""
        return self.page.evaluate("""(name) => {
            const heads = [...document.querySelectorAll('#explorer table.rows-table thead th')];
            const at = heads.findIndex(th => th.textContent.replace(/[\\u25B2\\u25BC]/g, '').trim() === name);
            if (at < 0) { throw new Error('no column ' + name); }
            return [...document.querySelectorAll('#explorer table.rows-table tbody tr')]
                .map(tr => tr.children[at].textContent);
        }""", name)

    def select(self, name: str, value: str) -> None:
        self.page.select_option(f"#explorer form.filters select[name={name}]", value)


@pytest.fixture(scope="module")
def report(sample_report: Path) -> Path:
    return sample_report / "report.html"


@pytest.fixture(scope="module")
def opened(browser, report) -> Page:
    return Page(browser, report)


@pytest.fixture
def view(opened: Page) -> Page:
    """The sample report, opened once for the module; each test starts with no filter, selection or dialog."""
    page = opened.page
    page.keyboard.press("Escape")
    if page.is_visible(".selection-clear"):
        page.click(".selection-clear")
    page.click("#explorer form.filters button.reset")
    return opened


@pytest.fixture(scope="module")
def findings(sample_report: Path) -> dict:
    return json.loads((sample_report / "findings.json").read_text())


@pytest.fixture(scope="module")
def table_rows() -> list[dict]:
    with SAMPLE_CSV.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_opens_without_console_messages_and_draws_every_section(view, findings):
    view.page.wait_for_selector("body[data-plots-drawn='1']", timeout=60_000)
    for analyser in findings["analysers"]:
        assert view.page.is_visible(f"#section-{analyser['name']}")
    plots = view.page.locator("div.plot[data-spec], div.plot[data-map]").count()
    assert plots > 0
    assert view.page.locator("div.plot .plot-container").count() == plots
    assert view.status() == (366, 366)
    # Thumbnails are painted from the sprite sheets, and nothing offers to upload a chart.
    thumbs = view.page.locator("#explorer table.rows-table tbody span.thumb")
    assert thumbs.count() == 50
    assert view.page.locator("#explorer table.rows-table tbody span.thumb[class*='sp-']").count() > 0
    assert view.page.locator("a.modebar-btn--logo, [data-val='sendDataToCloud'], "
                             "[data-title*='Chart Studio']").count() == 0
    assert view.console == []


def test_filtering_by_label_and_by_finding_kind_narrows_to_the_right_rows(view, findings, table_rows):
    view.select("label", "triangle")
    expected = sum(1 for row in table_rows if row["label"] == "triangle")
    assert view.status() == (expected, 366)
    assert set(view.column("label")) == {"triangle"}

    view.select("label", "")
    view.select("kind", "exact_duplicate")
    rows = {r for f in findings["findings"] if f["kind"] == "exact_duplicate" for r in f["rows"]}
    assert 0 < len(rows) <= 50
    assert view.status() == (len(rows), 366)
    assert {int(r) for r in view.column("row")} == rows
    assert view.console == []


def test_search_narrows_by_path(view, table_rows):
    target = table_rows[17]["path"]
    view.page.fill("#explorer input[name=q]", target.rsplit("/", 1)[-1])
    view.page.locator("#explorer .explorer-status", has_text=re.compile(r"^1 row of")).wait_for()
    assert view.column("path") == [target]


def test_sorting_orders_by_a_numeric_score(view):
    view.page.click("#explorer thead button[data-sort='brightness']")
    values = [float(v.replace(",", "")) for v in view.column("brightness") if v]
    assert len(values) == 50 and values == sorted(values, reverse=True)
    view.page.click("#explorer thead button[data-sort='brightness']")
    values = [float(v.replace(",", "")) for v in view.column("brightness") if v]
    assert values == sorted(values)
    assert "sort=brightness" in view.page.evaluate("location.hash")


def test_a_thumbnail_opens_the_detail_view_with_the_rows_findings(view, findings):
    finding = view.page.locator("#section-duplicates details.finding").first
    finding.locator("summary .message").click()
    tile = finding.locator(".finding-body .montage figure.tile").first
    tile.wait_for()
    row = int(tile.locator(".row").inner_text().split()[-1])
    tile.click()
    view.page.wait_for_selector("dialog#detail[open]")
    assert view.page.inner_text("#detail-title").startswith(f"row {row}")
    kinds = {f["kind"] for f in findings["findings"] if row in f["rows"]}
    listed = view.page.inner_text("dialog#detail .detail-findings")
    assert kinds and all(kind in listed for kind in kinds)
    assert view.page.locator("dialog#detail .montage figure.tile").count() >= 1  # its duplicate, side by side
    assert view.console == []


def test_a_tsne_selection_filters_the_explorer(view):
    plot = view.page.locator("div.plot[data-map]").first
    plot.evaluate("(div) => div.scrollIntoView({block: 'center'})")  # clear of the sticky header
    plot.locator(".plot-container").wait_for()
    box = view.page.locator("div.plot[data-map] .nsewdrag").first.bounding_box()
    view.page.mouse.move(box["x"] + box["width"] * 0.1, box["y"] + box["height"] * 0.1)
    view.page.mouse.down()
    view.page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.6, steps=8)
    view.page.mouse.up()
    view.page.locator("#explorer .explorer-status", has_text="selected on the map").wait_for()
    selected = view.page.evaluate("""() => {
        const div = document.querySelector('div.plot[data-map]');
        const map = JSON.parse(document.getElementById(div.dataset.map).textContent);
        const rows = new Set();
        div.data.forEach(trace => (trace.selectedpoints || []).forEach(k => rows.add(map.index[trace.customdata[k]])));
        return rows.size;
    }""")
    assert 0 < selected < 357
    assert view.status()[0] == selected
    assert "selected on the map" in view.page.inner_text("#explorer .explorer-status")
    assert view.page.locator(".selection .montage figure.tile").count() == min(selected, 60)
    # The selection is part of the shareable view: the address keeps it, and opening that address restores it.
    address = view.page.url
    assert "sel=" in address.split("#", 1)[1]
    view.page.goto("about:blank")
    view.page.goto(address)
    view.page.wait_for_selector("body[data-ready='1']", timeout=60_000)
    assert view.status()[0] == selected


def test_clicking_a_class_bar_filters_by_that_class(view, table_rows):
    bar = view.page.locator("#section-balance div.plot[data-spec] .bars path").first
    bar.scroll_into_view_if_needed()
    bar.wait_for()
    bar.click(force=True)
    label = view.page.input_value("#explorer select[name=label]")
    assert label
    assert view.status() == (sum(1 for row in table_rows if row["label"] == label), 366)


def test_the_url_hash_restores_a_view(browser, report, table_rows):
    view = Page(browser, report, "#explorer?label=circle&sort=-sharpness")
    assert view.status()[0] == sum(1 for row in table_rows if row["label"] == "circle")
    assert view.page.input_value("#explorer select[name=label]") == "circle"
    values = [float(v.replace(",", "")) for v in view.column("sharpness") if v]
    assert values == sorted(values, reverse=True)


def test_a_finding_list_downloads_as_csv(view, findings, tmp_path):
    with view.page.expect_download() as download:
        view.page.click("#section-duplicates .findings-head button.download-csv")
    saved = tmp_path / "f.csv"
    download.value.save_as(saved)
    with saved.open(newline="") as handle:
        lines = list(csv.DictReader(handle))
    expected = sum(len(f["rows"]) for f in findings["findings"] if f["analyser"] == "duplicates")
    assert len(lines) == expected
    assert {line["kind"] for line in lines} == {f["kind"] for f in findings["findings"] if f["analyser"] == "duplicates"}


def test_a_hostile_label_is_shown_as_text_never_as_a_link(browser, tmp_path):
    folder = tmp_path / "d"
    folder.mkdir()
    rows = ["path,label"]
    for i in range(24):
        random_rgb(i, (40, 32)).save(folder / f"{i}.png")
        rows.append(f'{i}.png,"{PHISH.replace(chr(34), chr(34) * 2)}"' if i % 2 else f"{i}.png,plain")
    (folder / "t.csv").write_text("\n".join(rows) + "\n")
    out = tmp_path / "o"
    result = CliRunner().invoke(app, ["run", str(folder / "t.csv"), "--label-col", "label", "--out", str(out),
                                      "--no-cache"])
    assert result.exit_code in (0, 1), result.output
    view = Page(browser, out / "report.html")
    view.page.wait_for_selector("body[data-plots-drawn='1']", timeout=60_000)
    assert view.page.locator("div.plot .plot-container").count() == view.page.locator("div.plot").count()
    assert view.page.locator("a[href*='example.com']").count() == 0
    svg_text = view.page.evaluate("[...document.querySelectorAll('.main-svg text')].map(t => t.textContent).join(' ')")
    assert PHISH in svg_text  # the label is drawn, literally, in ticks and legends
    assert view.console == []


def test_a_column_of_the_largest_floats_draws_without_a_console_error(browser, tmp_path):
    """Plotly throws (TypeError in its tick code) on an axis spanning -1.7e308 to 1.7e308; such values are drawn
    rescaled, the axis title saying by how much, and the explorer writes them in exponent form."""
    folder = tmp_path / "d"
    folder.mkdir()
    rows = ["path,label,split,big"]
    for i in range(36):
        random_rgb(100 + i, (40, 32)).save(folder / f"{i}.png")
        rows.append(f"{i}.png,{'cat' if i % 2 else 'dog'},{'train' if i % 3 else 'test'},"
                    f"{['-1.7976931348623157e308', '1.7e308', str(i)][i % 3]}")
    (folder / "t.csv").write_text("\n".join(rows) + "\n")
    out = tmp_path / "o"
    result = CliRunner().invoke(app, ["run", str(folder / "t.csv"), "--label-col", "label", "--split-col", "split",
                                      "--out", str(out), "--no-cache"])
    assert result.exit_code in (0, 1), result.output
    view = Page(browser, out / "report.html")
    view.page.wait_for_selector("body[data-plots-drawn='1']", timeout=60_000)
    assert view.page.locator("div.plot .plot-container").count() == view.page.locator("div.plot").count()
    svg_text = view.page.evaluate("[...document.querySelectorAll('.main-svg text')].map(t => t.textContent).join(' ')")
    assert "big (x 1e308)" in svg_text
    # The explorer shows them in exponent form (it wrote 1.7e308 as a 309-digit integer, grouped in thousands).
    assert set(view.column("big")) == {"-1.7976931348623157e+308", "1.7e+308", *(str(i) for i in range(2, 36, 3))}
    assert "0" * 30 not in (out / "report.html").read_text()
    assert view.console == []


def test_above_the_row_cap_a_finding_says_which_of_its_rows_the_page_does_not_list(browser, tmp_path, monkeypatch):
    from dataset_audit.report import explorer

    monkeypatch.setattr(explorer, "EXPLORER_MAX_ROWS", 30)
    folder = tmp_path / "d"
    folder.mkdir()
    rows = ["path,label"]
    copy = random_rgb(99, (40, 32))
    for i in range(80):  # rows 0-59 are one exact-duplicate group of 60; 60-79 are distinct
        (copy if i < 60 else random_rgb(i, (40, 32))).save(folder / f"{i}.png")
        rows.append(f"{i}.png,{'ab'[i % 2]}")
    (folder / "t.csv").write_text("\n".join(rows) + "\n")
    out = tmp_path / "o"
    result = CliRunner().invoke(app, ["run", str(folder / "t.csv"), "--label-col", "label", "--out", str(out),
                                      "--no-cache", "--only", "duplicates", "--only", "integrity"])
    assert result.exit_code in (0, 1), result.output
    view = Page(browser, out / "report.html")
    assert view.status() == (30, 30)
    assert "30 of 80 rows" in view.page.inner_text("#explorer .caption")
    group = view.page.locator("#section-duplicates details[data-finding]").first
    group.locator("summary").click()
    group.get_by_text("more rows not in this page").wait_for()  # the montage is drawn when the finding opens
    text = group.inner_text()
    assert "30 more rows not in this page (it lists at most 30 rows): findings.json lists them all" in text
    assert view.console == []
