"""Loading tables: formats, delimiters, encodings, roles, folder layouts and the errors people get."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from dataset_audit.config import Config
from dataset_audit.dataset import load_table
from dataset_audit.errors import AuditUsageError


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_csv_roles_detected_and_values_kept_raw(tmp_path):
    csv = write(tmp_path / "t.csv", "file,y,split,temp\na.jpg,cat,train,007\nb.png,dog,test,NA\n")
    table = load_table(csv, Config(label_col="y"))
    assert table.path_col == "file"
    assert table.label_col == "y"
    assert table.split_col == "split"
    assert table.frame["temp"].tolist() == ["007", "NA"]  # nothing converted or dropped
    assert table.root == tmp_path.resolve()
    assert table.resolved_paths()[0] == str(tmp_path.resolve() / "a.jpg")


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_other_delimiters_are_detected(tmp_path, delimiter):
    csv = write(tmp_path / "t.csv", f"path{delimiter}label\na.jpg{delimiter}x\nb.jpg{delimiter}y\n")
    table = load_table(csv, Config())
    assert list(table.frame.columns) == ["path", "label"]


def test_wrong_delimiter_is_a_clear_error(tmp_path):
    csv = write(tmp_path / "t.csv", "path;label\na.jpg;x\nb.jpg;y\n")
    with pytest.raises(AuditUsageError, match="delimiter looks wrong"):
        load_table(csv, Config(), delimiter=",")


@pytest.mark.parametrize("text", ["", "\n\n", "path,label\n"])
def test_empty_tables_are_errors(tmp_path, text):
    csv = write(tmp_path / "t.csv", text)
    with pytest.raises(AuditUsageError, match="empty|no data rows|no header"):
        load_table(csv, Config())


def test_missing_label_column_lists_columns(tmp_path):
    csv = write(tmp_path / "t.csv", "path,label\na.jpg,x\n")
    with pytest.raises(AuditUsageError) as info:
        load_table(csv, Config(label_col="y"))
    assert "'y'" in str(info.value) and "'path', 'label'" in str(info.value)


def test_ambiguous_path_columns_are_an_error(tmp_path):
    csv = write(tmp_path / "t.csv", "a,b\nx.jpg,y.png\n")
    with pytest.raises(AuditUsageError, match="several columns look like image paths: 'a', 'b'"):
        load_table(csv, Config())


def test_no_path_column_gives_tabular_only_mode(tmp_path):
    csv = write(tmp_path / "t.csv", "age,label\n3,x\n4,y\n")
    table = load_table(csv, Config())
    assert table.tabular_only
    assert any("tabular-only" in note for note in table.notes)


def test_latin1_csv_is_read_with_detected_encoding(tmp_path):
    text = "path,label,city\n" + "".join(f"img{i}.jpg,café,Zürich {i} élève\n" for i in range(30))
    csv = write(tmp_path / "t.csv", text, encoding="latin-1")
    table = load_table(csv, Config())
    assert table.encoding.lower().replace("_", "-") in {"latin-1", "iso-8859-1", "cp1252", "windows-1252", "iso8859-1",
                                                         "iso-8859-15", "cp1250"}
    assert table.frame["label"].iloc[0] == "café"
    assert any("not UTF-8" in note for note in table.notes)


def test_forced_wrong_encoding_is_an_error(tmp_path):
    csv = write(tmp_path / "t.csv", "path,label\na.jpg,café\n", encoding="latin-1")
    with pytest.raises(AuditUsageError, match="cannot be read as utf-8"):
        load_table(csv, Config(), encoding="utf-8")


def test_ragged_csv_names_the_problem(tmp_path):
    csv = write(tmp_path / "t.csv", "path,label\na.jpg,x\nb.jpg,y,z,w\n")
    with pytest.raises(AuditUsageError, match="not a well-formed table"):
        load_table(csv, Config())


def test_parquet_and_jsonl(tmp_path):
    frame = pd.DataFrame({"image": ["a.jpg", "b.jpg"], "label": ["x", "y"], "score": [0.1, 0.2]})
    frame.to_parquet(tmp_path / "t.parquet")
    frame.to_json(tmp_path / "t.jsonl", orient="records", lines=True)
    for name in ("t.parquet", "t.jsonl"):
        table = load_table(tmp_path / name, Config(label_col="label"))
        assert table.path_col == "image"
        assert table.labels() == ["x", "y"]


def test_folder_layout_with_splits(tmp_path):
    for split, cls, name in [("train", "cat", "1.jpg"), ("train", "dog", "2.png"), ("test", "cat", "3.jpg")]:
        (tmp_path / split / cls).mkdir(parents=True, exist_ok=True)
        (tmp_path / split / cls / name).write_bytes(b"x")
    (tmp_path / "train" / "notes.txt").write_text("not an image")
    table = load_table(tmp_path, Config())
    assert table.frame["path"].tolist() == ["test/cat/3.jpg", "train/cat/1.jpg", "train/dog/2.png"]
    assert table.labels() == ["cat", "cat", "dog"]
    assert table.splits() == ["test", "train", "train"]


def test_folder_layout_loose_files_capitals_and_nested_folders(tmp_path):
    for folder, name in [("", "loose.jpg"), ("Train/cat", "1.JPG"), ("dogs/sub", "2.jpg"), (".hidden", "3.jpg")]:
        (tmp_path / folder).mkdir(parents=True, exist_ok=True)
        (tmp_path / folder / name).write_bytes(b"x")
    table = load_table(tmp_path, Config())
    assert table.frame["path"].tolist() == ["loose.jpg", "Train/cat/1.JPG", "dogs/sub/2.jpg"]  # no dot-folders
    assert table.frame["label"].tolist() == ["", "cat", "dogs"]
    assert table.frame["split"].tolist() == ["", "train", ""]
    assert table.resolved_paths() == [str(tmp_path.resolve() / p) for p in table.frame["path"]]


def test_resolved_paths_are_normalised_strings_under_the_root(tmp_path):
    csv = write(tmp_path / "t.csv", "file\na/./b/../c.jpg\n~no-such-user-here/d.jpg\n")
    table = load_table(csv, Config())
    root = str(tmp_path.resolve())
    # As the scan's cache keys spell them; a home folder that does not exist stays a folder under the root.
    assert table.resolved_paths() == [f"{root}/a/c.jpg", f"{root}/~no-such-user-here/d.jpg"]


def test_folder_without_images_is_an_error(tmp_path):
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(AuditUsageError, match="holds no image files"):
        load_table(tmp_path, Config())


def test_sample_keeps_input_row_numbers(tmp_path):
    rows = "".join(f"img{i}.jpg,c{i % 3}\n" for i in range(50))
    csv = write(tmp_path / "t.csv", "path,label\n" + rows)
    table = load_table(csv, Config(sample=10, seed=3))
    assert len(table) == 10
    for position in range(10):
        original = table.original_row(position)
        assert table.paths()[position] == f"img{original}.jpg"
    assert table.total_rows == 50


def test_label_missing_tokens_and_spaces_are_unlabelled(tmp_path):
    csv = write(tmp_path / "t.csv", "path,label\na.jpg,cat\nb.jpg, cat \nc.jpg,NA\nd.jpg,  \ne.jpg,null\nf.jpg,dog\n")
    table = load_table(csv, Config(label_col="label"))
    assert table.labels() == ["cat", "cat", "", "", "", "dog"]


def test_class_groups_largest_first_and_restricted_to_rows():
    from dataset_audit.dataset import class_groups

    labels = ["b", "a", "b", "", "c", "b", "a"]
    groups = class_groups(labels)
    assert [(cls, rows.tolist()) for cls, rows in groups] == [("b", [0, 2, 5]), ("a", [1, 6]), ("c", [4])]
    subset = class_groups(labels, rows=[1, 2, 3, 4])
    assert [(cls, rows.tolist()) for cls, rows in subset] == [("a", [1]), ("b", [2]), ("c", [4])]


def test_outside_root_is_judged_on_the_path_and_its_folder_real_path(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    write(real / "t.csv", f"path,label\n{tmp_path / 'link' / 'a.png'},x\n../real/b.png,y\n../c.png,z\n"
                          f"/etc/x.png,w\nd.png,v\n")
    table = load_table(tmp_path / "link" / "t.csv", Config())
    # An absolute path through a symlink to the root is inside; '..' that leaves it and /etc are outside.
    assert table.outside_root() == [False, False, True, True, False]


def test_list_cells_become_json_text_with_a_note(tmp_path):
    source = tmp_path / "t.jsonl"
    source.write_text('{"path": "a.png", "box": [1, 2], "meta": {"b": 1, "a": [true, null]}}\n'
                      '{"path": "b.png", "box": "none", "meta": null}\n')
    table = load_table(source, Config())
    assert table.frame["box"].tolist() == ["[1, 2]", "none"]
    assert table.frame["meta"].tolist() == ['{"a": [true, null], "b": 1}', None]
    assert table.non_scalar_columns == {"box": 1, "meta": 1}
    assert sum("holds lists or objects" in note for note in table.notes) == 2


def test_nul_padded_labels_and_splits_are_trimmed(tmp_path):
    """Fixed-width exports pad with NUL bytes. A label of NULs alone passed as a class but numpy's strings drop
    trailing NULs, so the balance analyser found no class and failed (found by the CSV-cells property test)."""
    from dataset_audit.pipeline import run_audit

    source = tmp_path / "t.csv"
    source.write_text("path,label,split\na.png,cat\x00\x00,train\x00\nb.png,\x00,test\nc.png,cat,\x00train\n",
                      encoding="utf-8")
    config = Config(use_cache=False, jobs=1, out=tmp_path / "out", label_col="label", split_col="split")
    table = load_table(source, config)
    assert table.labels() == ["cat", "", "cat"] and table.splits() == ["train", "test", "train"]
    result = run_audit(table, config)
    assert [s.name for s in result.analyser_errors] == []
    assert result.metrics["balance.num_classes"] == 1 and result.metrics["balance.unlabelled_count"] == 1


def test_nul_padded_predictions_match_nul_padded_labels(tmp_path):
    """Every reader of the label and prediction columns trims NULs the same way (dataset.trimmed): with labels
    trimmed but predictions only stripped, 36 correct predictions of 40 scored 0.0 (found in review)."""
    from imagetools import random_rgb

    from dataset_audit.pipeline import run_audit

    rows = []
    for i in range(40):
        random_rgb(100 + i, (32, 32)).save(tmp_path / f"{i:02d}.png")
        label = ["cat", "dog"][i % 2]
        predicted = label if i % 10 else ["dog", "cat"][i % 2]
        rows.append({"path": f"{i:02d}.png", "label": label.ljust(6, "\0"), "pred": predicted.ljust(6, "\0")})
    pd.DataFrame(rows).to_parquet(tmp_path / "t.parquet")
    config = Config(use_cache=False, jobs=1, out=tmp_path / "out", label_col="label", pred_col="pred",
                    only=["labels", "rows", "balance"])
    result = run_audit(load_table(tmp_path / "t.parquet", config), config)
    assert [s.name for s in result.analyser_errors] == []
    assert result.metrics["labels.prediction_accuracy"] == 0.9
    assert result.metrics["balance.num_classes"] == 2
