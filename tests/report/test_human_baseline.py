"""The human-baseline section works in a real headless Chromium from file://: answers, accuracy, CSV download."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from imagetools import random_rgb
from typer.testing import CliRunner

from dataset_audit.cli import app

CHROMIUM = Path("/usr/bin/chromium")
playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[dev]')")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="no Chromium at /usr/bin/chromium")

CLASSES = ["apple", "pear, green", "plum"]  # a comma, so the CSV must quote


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> tuple[Path, dict[int, str]]:
    folder = tmp_path_factory.mktemp("baseline")
    (folder / "images").mkdir()
    labels = {}
    with open(folder / "t.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label"])
        for i in range(24):
            random_rgb(i, (32, 32)).save(folder / "images" / f"{i}.png")
            labels[i] = CLASSES[i % 3]
            writer.writerow([f"images/{i}.png", labels[i]])
    out = folder / "out"
    (folder / "audit.toml").write_text("[baseline]\nimages = 6\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["run", str(folder / "t.csv"), "--label-col", "label", "--out", str(out),
                                      "--no-cache", "--only", "baseline", "--config", str(folder / "audit.toml")])
    assert result.exit_code == 0, result.output
    return out / "report.html", labels


def test_label_images_see_accuracy_and_download_answers(report, tmp_path):
    page_path, labels = report
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            page = browser.new_page(accept_downloads=True)
            console: list[str] = []
            page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
            page.on("pageerror", lambda error: console.append(f"pageerror: {error}"))
            requests: list[str] = []
            page.on("request", lambda request: requests.append(request.url))
            page.goto(page_path.as_uri())
            section = page.locator("#section-baseline")
            assert section.locator(".hb-total").inner_text() == "6"
            assert section.locator(".hb-answer").count() == len(CLASSES) + 1  # the classes and "don't know"
            assert section.locator(".hb-image").is_visible() and not section.locator(".hb-result").is_visible()
            assert not section.locator(".noimg").is_visible()
            picture = section.locator(".hb-picture")  # the image is shown without its label
            assert not any(c in picture.inner_text() for c in CLASSES)
            assert picture.locator("img").get_attribute("alt") == "image to label"

            answers = []
            for step in range(4):
                row = int(section.locator(".hb-image").get_attribute("data-row"))
                given = labels[row]
                if step == 3:
                    mine = ""  # don't know
                    section.locator(".hb-unsure").click()
                else:
                    mine = given if step < 2 else next(c for c in CLASSES if c != given)
                    section.locator(f'.hb-answer[data-answer="{mine}"]').click()
                answers.append((row, given, mine))
            section.locator(".hb-finish").click()

            assert not section.locator(".hb-stage").is_visible()
            score = section.locator(".hb-score").inner_text()
            assert score == "You agree with the given label on 2 of 3 images (66.7%)."
            assert "1 answered" in section.locator(".hb-context").inner_text()
            disagreements = section.locator(".hb-disagreements figure.tile")
            assert disagreements.count() == 1
            assert f"row {answers[2][0]}" in disagreements.first.inner_text()
            assert disagreements.first.locator("img").count() == 1  # the thumbnail

            with page.expect_download() as download_info:
                section.locator(".hb-download").click()
            download = download_info.value
            assert download.suggested_filename == "human-baseline.csv"
            rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
            assert [(int(r["row"]), r["given_label"], r["your_answer"]) for r in rows] == answers
            assert [r["agrees"] for r in rows] == ["yes", "yes", "no", ""]
            assert rows[0]["path"].startswith("images/")

            section.locator(".hb-restart").click()
            assert section.locator(".hb-index").inner_text() == "1"
            assert console == []
            assert all(url.startswith(("file:", "data:", "blob:")) for url in requests), requests
        finally:
            browser.close()


def test_inlined_script_uses_no_eval_or_external_urls(report):
    html = report[0].read_text(encoding="utf-8")
    start = html.index('id="section-baseline"')
    section = html[start:html.index("</section>", start)]
    assert "eval(" not in section and "new Function" not in section
    assert "http://" not in section and "https://" not in section
