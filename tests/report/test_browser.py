"""The report opens in a real headless browser with no console messages, and every chart gets drawn."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from imagetools import random_rgb, write_bad_files
from typer.testing import CliRunner

from dataset_audit.cli import app

BROWSER = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
pytestmark = pytest.mark.skipif(BROWSER is None, reason="no Chromium on this machine (.ci/run installs it)")


def load_in_browser(page: Path, profile: Path) -> tuple[str, list[str]]:
    """The DOM after scripts ran, and every console line the page produced."""
    command = [BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", "--window-size=1400,40000",
               "--virtual-time-budget=15000", "--dump-dom", page.as_uri()]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    return done.stdout, console


def test_report_has_no_console_errors_and_draws_its_charts(tmp_path):
    images = tmp_path / "d" / "images"
    write_bad_files(images)
    rows = ["path,label,split"]
    for i in range(30):
        random_rgb(i, (40 + i, 32)).save(images / f"{i}.png")
        rows.append(f"images/{i}.png,{['a', 'b', 'c'][i % 3]},{'test' if i % 5 == 0 else 'train'}")
    rows += [f"images/{p.name},a,train" for p in images.iterdir() if not p.name[0].isdigit()]
    (tmp_path / "d" / "t.csv").write_text("\n".join(rows) + "\n")
    out = tmp_path / "o"
    result = CliRunner().invoke(app, ["run", str(tmp_path / "d" / "t.csv"), "--label-col", "label", "--out", str(out),
                                      "--no-cache"])
    assert result.exit_code == 0, result.output
    html = (out / "report.html").read_text()
    expected_plots = len(re.findall(r'data-spec="', html)) + len(re.findall(r'data-explorer="', html))
    assert expected_plots > 0
    dom, console = load_in_browser(out / "report.html", tmp_path / "profile")
    assert console == []
    assert dom.count('class="plot-container plotly"') == expected_plots
