"""report.html without a browser: text reaches plotly escaped, the CSP admits exactly the page's own scripts, the
explorer lists the right rows with their scores and findings, and sprite sheets hold one tile per row."""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import re
import sqlite3
from pathlib import Path

import pytest
from imagetools import random_rgb
from PIL import Image

from dataset_audit.config import build_config
from dataset_audit.dataset import load_table
from dataset_audit.pipeline import run_audit
from dataset_audit.report import sprite_cache
from dataset_audit.report import sprites as sprites_module
from dataset_audit.report.explorer import choose_rows, interleave_splits
from dataset_audit.report.html import plotly_safe, render_html
from dataset_audit.report.sprites import TILE_SIDE, TILES_PER_SHEET, make_sprites

PHISH = '<a href="https://example.com/phish">click</a>'


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> tuple[str, dict]:
    folder = tmp_path_factory.mktemp("data")
    rows = ["path,label,split"]
    for i in range(16):
        random_rgb(i, (48, 40)).save(folder / f"{i}.png")
        label = PHISH if i % 4 == 0 else "plain"
        rows.append(f'{i}.png,"{label.replace(chr(34), chr(34) * 2)}",{"test" if i % 5 == 0 else "train"}')
    random_rgb(3, (48, 40)).save(folder / "copy.png")  # an exact copy of 3.png, in test: a leakage pair
    rows += ["copy.png,plain,test", "gone.png,plain,train"]
    (folder / "t.csv").write_text("\n".join(rows) + "\n")
    config = build_config({}, {"label_col": "label", "use_cache": False, "jobs": 1})
    result = run_audit(load_table(folder / "t.csv", config), config)
    page = render_html(result)
    document = json.loads(re.search(r'<script type="application/json" id="explorer-data">(.*?)</script>', page,
                                    re.S)[1])
    return page, document


def test_plotly_gets_escaped_text_and_keeps_its_own_template_tags():
    spec = plotly_safe({"data": [{"type": "bar", "x": [PHISH, "b"], "name": "<b>bold</b>",
                                  "hovertemplate": f"{PHISH}: " + "%{y}<extra></extra>"}],
                        "layout": {"title": {"text": "<i>x</i>"}, "xaxis": {"ticktext": ["<br>"]}}})
    trace = spec["data"][0]
    assert trace["x"] == ['&lt;a href="https://example.com/phish"&gt;click&lt;/a&gt;', "b"]
    assert trace["name"] == "&lt;b&gt;bold&lt;/b&gt;"
    assert trace["hovertemplate"] == '&lt;a href="https://example.com/phish"&gt;click&lt;/a&gt;: %{y}<extra></extra>'
    assert spec["layout"]["title"]["text"] == "&lt;i&gt;x&lt;/i&gt;"
    assert spec["layout"]["xaxis"]["ticktext"] == ["&lt;br&gt;"]
    assert trace["type"] == "bar"


def test_no_chart_spec_carries_raw_markup_from_a_label(rendered):
    page, _ = rendered
    specs = re.findall(r'<script type="application/json" id="chart-[^"]+-spec">(.*?)</script>', page, re.S)
    assert specs
    for spec in specs:
        text = json.dumps(json.loads(spec))
        assert "<a href" not in text and "\\u003ca href" not in text


def test_the_csp_admits_exactly_the_inline_scripts_and_data_images(rendered):
    page, _ = rendered
    policy = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', page)[1]
    policy = html.unescape(policy)
    scripts = re.findall(r"<script>(.*?)</script>", page, re.S)
    assert len(scripts) >= 2  # report.js and plotly.js, plus any script a section partial brings
    hashes = {f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'" for s in scripts}
    script_src = re.search(r"script-src ([^;]+);", policy)[1].split()
    assert set(script_src) == hashes
    assert "default-src 'none'" in policy and "img-src data:" in policy
    assert "unsafe-inline" not in re.search(r"script-src [^;]+", policy)[0]


def test_the_explorer_lists_every_row_with_scores_and_findings(rendered):
    _, document = rendered
    assert document["count"] == 18
    columns = {c["name"]: c for c in document["columns"]}
    assert {"row", "path", "label", "split", "brightness", "sharpness", "entropy"} <= set(columns)
    assert columns["row"]["start"] == 0  # rows 0..17, stored as a run
    assert any(c["group"] == "score" and c["analyser"] == "embedding" for c in document["columns"])
    assert columns["path"]["names"][17] == "gone.png"
    missing = {f["kind"]: f for f in document["findings"] if f["analyser"] == "integrity"}["missing"]
    assert missing["members"] == [17]
    leakage = [f for f in document["findings"] if f["kind"] == "leakage"]
    assert leakage and {3, 16} <= set(leakage[0]["members"])
    assert len(document["sprites"]["sheets"]) == 1 and document["sprites"]["missing"] == [17]


def test_the_summary_says_plainly_whether_to_train_and_what_to_fix(rendered):
    page, _ = rendered
    assert "Not fit to train on as it is" in page
    fixes = page[page.index("Fix first"):page.index("<h3>Gates</h3>")]
    assert "leakage" in fixes and "missing" in fixes
    assert "1 images" not in page and "1 rows" not in page


def test_rows_beyond_the_cap_keep_every_shown_row_plus_a_seeded_sample():
    chosen = choose_rows(1000, {5}, [[999, 7]], seed=3, cap=100)
    assert len(chosen.positions) == 100 and {5, 7, 999} <= set(chosen.positions) and chosen.complete
    assert chosen.positions == choose_rows(1000, {5}, [[999, 7]], seed=3, cap=100).positions
    assert chosen.positions == sorted(chosen.positions)
    assert "every row with a finding" in chosen.note and "seeded random sample" in chosen.note
    assert choose_rows(50, set(), [[1, 2]], seed=0, cap=100).positions == list(range(50))


def test_more_flagged_rows_than_the_cap_keep_pictures_and_the_first_members_of_every_finding():
    # 60 pair findings and one 300-row finding: 420 flagged rows, room for 100.
    pairs = [[1000 + 2 * i, 1001 + 2 * i] for i in range(60)]
    big = list(range(2000, 2300))
    chosen = choose_rows(5000, {4999}, [big] + pairs, seed=1, cap=100)
    listed = set(chosen.positions)
    assert len(listed) == 100 and 4999 in listed and not chosen.complete
    assert all(set(pair) <= listed for pair in pairs[:48])  # 1 picture + 2 of big + 2 per pair, in report order
    assert set(big[:2]) <= listed
    assert listed <= {4999} | set(big) | {p for pair in pairs for p in pair}  # no unflagged row while flagged wait
    assert "findings.json lists every row" in chosen.note and "100 of 5,000 rows" in chosen.note
    assert chosen.positions == choose_rows(5000, {4999}, [big] + pairs, seed=1, cap=100).positions


def test_a_group_across_splits_shows_its_rarer_split_first():
    splits = ["train", "train", "train", "test"]
    assert interleave_splits([0, 1, 2, 3], splits)[:2] == [3, 0]
    assert interleave_splits([0, 1], ["train", "train"]) == [0, 1]


def test_sprite_sheets_hold_one_tile_per_path_and_note_unreadable_ones(tmp_path):
    paths: list[Path | None] = []
    for i in range(3):
        random_rgb(i, (64, 20)).save(tmp_path / f"{i}.png")
        paths.append(tmp_path / f"{i}.png")
    paths += [tmp_path / "missing.png", None]
    sprites = make_sprites(paths)
    assert sprites.missing == [3, 4]
    sheet = Image.open(io.BytesIO(base64.b64decode(sprites.sheets[0].split(",", 1)[1])))
    assert sheet.format == "WEBP" and sheet.size == (sprites.per_line * TILE_SIDE, TILE_SIDE)


def test_sprite_cache_serves_unchanged_sheets_and_encodes_changed_or_damaged_ones(tmp_path, monkeypatch):
    paths: list[Path | None] = []
    for i in range(TILES_PER_SHEET + 3):  # two sheets
        random_rgb(i, (8, 8)).save(tmp_path / f"{i}.png")
        paths.append(tmp_path / f"{i}.png")
    encoded: list[int] = []
    encode = sprites_module._webp
    monkeypatch.setattr(sprites_module, "_webp", lambda sheet: encoded.append(1) or encode(sheet))
    cache = tmp_path / "cache"
    first = make_sprites(paths, cache_dir=cache)
    assert len(encoded) == 2
    again = make_sprites(paths, cache_dir=cache)
    assert len(encoded) == 2 and again.sheets == first.sheets  # both read back, same bytes

    random_rgb(999, (8, 8)).save(paths[-1])  # one tile of the second sheet changes
    changed = make_sprites(paths, cache_dir=cache)
    assert len(encoded) == 3
    assert changed.sheets[0] == first.sheets[0] and changed.sheets[1] != first.sheets[1]

    with sqlite3.connect(cache / sprite_cache.FILE_NAME) as db:  # a foreign value in a shared folder is a miss
        db.execute("UPDATE sheets SET webp = ?", (b"<script>alert(1)</script>",))
    repaired = make_sprites(paths, cache_dir=cache)
    assert len(encoded) == 5 and repaired.sheets == changed.sheets
    assert make_sprites(paths).sheets == changed.sheets  # no cache folder: encoded, the same
    assert len(encoded) == 7


def test_a_known_layout_comes_from_the_cache_without_reading_a_tile(tmp_path, monkeypatch):
    paths: list[Path | None] = []
    for i in range(TILES_PER_SHEET + 3):  # two sheets, the second with a missing file
        random_rgb(i, (8, 8)).save(tmp_path / f"{i}.png")
        paths.append(tmp_path / f"{i}.png")
    paths[-2] = tmp_path / "gone.png"
    identities = [f"b{i}" for i in range(len(paths))]
    cache = tmp_path / "cache"
    first = make_sprites(paths, cache_dir=cache, identities=identities)
    assert first.missing == [TILES_PER_SHEET + 1]
    read: list[str | None] = []
    tile_bytes = sprites_module.tile_bytes
    monkeypatch.setattr(sprites_module, "tile_bytes", lambda path, side=TILE_SIDE: read.append(path) or
                        tile_bytes(path, side))
    again = make_sprites(paths, cache_dir=cache, identities=identities)
    assert read == []  # nothing filled: both sheets and the missing cell from the cache
    assert again.sheets == first.sheets and again.missing == first.missing

    random_rgb(999, (8, 8)).save(paths[0])  # the scan would give this file another hash
    changed = make_sprites(paths, cache_dir=cache, identities=["b999", *identities[1:]])
    assert len(read) == TILES_PER_SHEET and set(read) == {str(p) for p in paths[:TILES_PER_SHEET]}
    assert changed.sheets[0] != first.sheets[0] and changed.sheets[1] == first.sheets[1]
    assert changed.sheets == make_sprites(paths).sheets  # the same as drawn without any cache

    with sqlite3.connect(cache / sprite_cache.FILE_NAME) as db:  # a foreign layout row in a shared folder: a miss
        db.execute("UPDATE layouts SET missing = ?", ("[5000, -1]",))
    read.clear()
    repaired = make_sprites(paths, cache_dir=cache, identities=["b999", *identities[1:]])
    assert len(read) == len(paths) and repaired.sheets == changed.sheets and repaired.missing == first.missing


def test_sprite_cache_keeps_the_most_recently_used_sheets(tmp_path):
    store = sprite_cache.SpriteCache(tmp_path)
    webp = b"RIFF\0\0\0\0WEBPdata"
    for key in "abcd":  # stored one second apart
        store.put(key, webp)
        store._now += 1
    store.close()
    later = sprite_cache.SpriteCache(tmp_path)
    later._now += 10
    assert later.get("a") == webp  # used again: now the newest
    later.prune(keep=2)
    assert [key for key in "abcd" if later.get(key) is not None] == ["a", "d"]


def test_explorer_numbers_keep_their_digits_up_to_2_53_and_are_never_hundreds_of_digits():
    """Microsecond timestamps and long ids stay exact integers (they were cut to 3 digits, 1.7e15, for a while);
    1.7e308 is written as the float, not as round()'s 309-digit integer; -1.797e308 stays finite."""
    import json

    from dataset_audit.report.explorer import _round

    cells = [1700000000123456.0, 1700000050000000.0, 9007199254740991.0, 2.0 ** 60, 1.7e308,
             -1.7976931348623157e308, 123.456, 0.012345]
    written = json.dumps([_round(v) for v in cells], allow_nan=False)
    assert written == ("[1700000000123456, 1700000050000000, 9007199254740991, 1.152921504606847e+18, 1.7e+308, "
                       "-1.7976931348623157e+308, 123, 0.0123]")
