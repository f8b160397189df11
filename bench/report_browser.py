"""Open a report.html in headless Chromium and print its size, when it became usable and its collapsed height.

    .venv/bin/python bench/report_browser.py audit-report/report.html

Figures: file size; time from navigation to the explorer working (report.js done) and to plotly.js compiled
(charts start drawing), both from the page's performance marks; wall time until the page answered; page height at
1400 px with every <details> closed and every chart drawn. Needs playwright (the dev extra) and /usr/bin/chromium.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"


def measure(report: Path) -> dict:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        errors: list[str] = []
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        started = time.perf_counter()
        page.goto(report.resolve().as_uri(), wait_until="commit", timeout=180_000)
        page.wait_for_selector("body[data-ready='1']", timeout=180_000)
        answered = time.perf_counter() - started
        marks = page.evaluate("Object.fromEntries(performance.getEntriesByType('mark')"
                              ".map(m => [m.name, m.startTime / 1000]))")
        page.wait_for_selector("body[data-plots-drawn='1']", timeout=300_000)
        drawn = time.perf_counter() - started
        page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = false; })")
        height = page.evaluate("document.documentElement.scrollHeight")
        browser.close()
    return {"megabytes": round(report.stat().st_size / 1e6, 2),
            "explorer_ready_s": round(marks.get("audit-ready", float("nan")), 2),
            "plotly_loaded_s": round(marks.get("audit-plotly-loaded", float("nan")), 2),
            "answered_s": round(answered, 2), "all_charts_drawn_s": round(drawn, 2),
            "collapsed_height_px": height, "console_errors": errors}


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    print(measure(Path(sys.argv[1])))
