"""Issue 9, items 13-15: tables read wrongly without a word, and one huge image that took gigabytes."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import by_kind, findings, run_cli, run_subprocess, write_csv
from imagetools import write_blank_png

from dataset_audit.config import Config
from dataset_audit.dataset import load_table
from dataset_audit.errors import AuditUsageError

# ---------------------------------------------------------------------------------------------- item 13


def test_13_mixed_delimiters_exit_2_naming_the_lines(good_images, tmp_path):
    csv = good_images / "mixed.csv"
    csv.write_text("path,label\ngood_0.png,cat\ngood_1.png;dog\ngood_2.png,dog\ngood_3.png;cat\n")
    code, output = run_cli(str(csv), "--out", str(tmp_path / "o"), "--no-cache")
    text = " ".join(output.split())
    assert code == 2 and "mixes delimiters" in text and "use ';'" in text and "line 3, 5" in text


def test_13_duplicate_header_and_short_rows_are_noted(tmp_path):
    csv = tmp_path / "t.csv"
    csv.write_text("path,label,label\na.png,cat,dog\nb.png,dog\n")
    table = load_table(csv, Config())
    assert list(table.frame.columns) == ["path", "label", "label.1"]
    assert any("repeats 'label' (2 times)" in note for note in table.notes)
    assert any("fewer fields than the header" in note and "line 3" in note for note in table.notes)


def test_13_path_with_surrounding_spaces_that_exists_is_read(good_images, tmp_path):
    (good_images / "good_0.png").rename(good_images / " spaced.png ")
    csv = good_images / "t.csv"
    csv.write_text('path,label\n" spaced.png ",cat\n good_1.png ,dog\n')  # the second one exists only stripped
    out = tmp_path / "o"
    code, output = run_cli(str(csv), "--out", str(out), "--no-cache")
    assert code == 0, output
    assert by_kind(findings(out), "missing") == []


@pytest.mark.parametrize("note", ['tags: "cat";"indoor";"{i}"', "was |'cat'| now\nline {i}"])
def test_13_quoted_lists_in_free_text_do_not_change_the_delimiter(tmp_path, note):
    """csv.Sniffer takes delimiter-quote-text-quote-delimiter as the sign of a delimiter: a comma file whose notes
    hold '"cat";"indoor"' or "|'cat'|" was read with ';' or '|' and refused. The delimiter is now the one that gives
    the most records of the header's width, read as csv reads them (quotes and line breaks in cells included)."""
    import csv as csv_module

    source = tmp_path / "t.csv"
    with source.open("w", newline="", encoding="utf-8") as handle:
        writer = csv_module.writer(handle)
        writer.writerow(["path", "label", "note"])
        for i in range(30):
            writer.writerow([f"img_{i}.png", "cat" if i % 2 else "dog", note.format(i=i)])
    table = load_table(source, Config())
    assert list(table.frame.columns) == ["path", "label", "note"] and len(table.frame) == 30
    assert table.frame["note"][4] == note.format(i=4)


# ---------------------------------------------------------------------------------------------- item 14


def test_14_latin1_table_prefers_western_encoding(tmp_path):
    csv = tmp_path / "t.csv"
    csv.write_bytes("path,label\nimg1.jpg,naïve\nimg2.jpg,café\n".encode("latin-1"))
    table = load_table(csv, Config())
    assert table.frame["label"].tolist() == ["naïve", "café"]
    assert table.encoding == "cp1252"
    assert any("not UTF-8" in note and "--encoding" in note for note in table.notes)


def test_14_given_encoding_still_wins(tmp_path):
    csv = tmp_path / "t.csv"
    csv.write_bytes("path,label\nimg1.jpg,naďve\n".encode("cp1250"))
    assert load_table(csv, Config(), encoding="cp1250").frame["label"].tolist() == ["naďve"]
    with pytest.raises(AuditUsageError, match="cannot be read as ascii"):
        load_table(csv, Config(), encoding="ascii")


# ---------------------------------------------------------------------------------------------- item 15


PEAK_MEMORY_PROBE = """
import resource, sys
from dataset_audit.scan.decode import scan_one
from dataset_audit.report.thumbnails import thumbnail_uri
from pathlib import Path
record, _ = scan_one(sys.argv[1])
thumbnail_uri(Path(sys.argv[1]), 96)
print(record["status"], record["error_kind"] or "-", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""


def test_15_a_13000_px_png_is_not_decoded_in_full(tmp_path):
    def peak(image) -> tuple[str, str, int]:
        probe = subprocess.run([sys.executable, "-c", PEAK_MEMORY_PROBE, str(image)], capture_output=True, text=True,
                               timeout=300)
        assert probe.returncode == 0, probe.stderr
        assert "DecompressionBombWarning" not in probe.stderr
        status, kind, peak_mb = probe.stdout.split()
        return status, kind, int(peak_mb)

    _, _, baseline_mb = peak(write_blank_png(tmp_path / "small.png", 64, 64))  # the imports alone
    status, kind, huge_mb = peak(write_blank_png(tmp_path / "huge.png", 13_000, 13_000))
    assert (status, kind) == ("skipped", "very_large")
    # One full RGB decode of it would add ~500 MB (the old code peaked at 1.9 GB); a skip adds next to nothing.
    assert huge_mb - baseline_mb < 150, f"{huge_mb} MB for the 13,000 px image against {baseline_mb} MB for a small one"


def test_15_no_decompression_bomb_warning_on_stderr_even_in_quiet_mode(good_images, tmp_path):
    write_blank_png(good_images / "huge.png", 13_000, 13_000)
    csv = write_csv(good_images, ["good_0.png", "huge.png", "good_1.png"])
    out = tmp_path / "o"
    done = run_subprocess(str(csv), "--out", str(out), "--no-cache", "--quiet", timeout=300)
    assert done.returncode == 0, done.stderr
    assert "DecompressionBombWarning" not in done.stderr and "Warning" not in done.stderr, done.stderr
    large = by_kind(findings(out), "very_large")
    assert [f["rows"] for f in large] == [[1]] and "13000x13000" in large[0]["message"]
