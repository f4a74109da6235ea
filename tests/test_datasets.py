"""Census-income loader: the real test split, corrupted copies, resolution order, download on first use.

The real file is never in the repository. Tests that need it read it from
``$MMOE_LAB_DATA_DIR`` (set by ``.ci/run``) or, when that is unset, from the ``shared/data``
folder beside the repository; if neither has it they fail with a message saying where to put it.
Everything else runs on tiny files made in ``tmp_path``. Downloads never touch the network: an
archive is served over loopback by ``http.server`` on 127.0.0.1, or a fake fetcher writes it.
"""

from __future__ import annotations

import gzip
import http.server
import io
import os
import socket
import tarfile
import threading
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mmoe_lab import datasets as ds
from mmoe_lab.datasets import (
    CENSUS_COLUMNS,
    CENSUS_FILES,
    CensusDataError,
    census_label_pearson,
    census_labels,
    census_tasks,
    default_cache_dir,
    load_census_income,
    read_census_file,
)

TEST_NAME, TEST_ROWS = CENSUS_FILES["test"]
TRAIN_NAME, TRAIN_ROWS = CENSUS_FILES["train"]
REPO = Path(__file__).resolve().parents[1]


def _real_data_dir() -> Path:
    env = os.environ.get("MMOE_LAB_DATA_DIR")
    candidates = [Path(env)] if env else [default_cache_dir()]  # where the loader itself looks
    for d in candidates:
        if (d / TEST_NAME).is_file():
            return d
    pytest.fail(
        f"the census-income test split is needed: put {TEST_NAME} (99,762 rows) in a folder and set "
        f"MMOE_LAB_DATA_DIR to it (looked in: {', '.join(map(str, candidates))})",
        pytrace=False,
    )


@pytest.fixture(scope="module")
def real_dir() -> Path:
    return _real_data_dir()


@pytest.fixture(scope="module")
def census(real_dir):
    return load_census_income(real_dir)


@pytest.fixture(scope="module")
def whole(real_dir):
    return read_census_file(real_dir / TEST_NAME, TEST_ROWS)


# ------------------------------------------------------------------ tiny synthetic rows
def _row(i: int, *, label: str = "- 50000.", marital: str = "Never married") -> str:
    values = []
    for c in CENSUS_COLUMNS:
        if c == "income":
            values.append(label)
        elif c == "marital_stat":
            values.append(marital)
        elif c in ds._INT_COLUMNS:
            values.append(str(i % 7))
        elif c == "instance_weight":
            values.append("1032.38")
        else:
            values.append(f"val{i % 3}")
    return ", ".join(values)


def _write_gz(path: Path, lines: list[str]) -> Path:
    with gzip.open(path, "wt") as fh:
        fh.write("".join(line + "\n" for line in lines))
    return path


def _tiny_lines(n: int) -> list[str]:
    return [_row(i, label="50000+." if i % 4 == 0 else "- 50000.",
                 marital="Never married" if i % 2 else "Divorced") for i in range(n)]


# ------------------------------------------------------------------ the real file
def test_real_test_split_schema_and_labels(whole):
    df = whole
    assert df.shape == (99_762, 42)
    assert list(df.columns) == list(CENSUS_COLUMNS)
    assert set(df["income"]) == {"- 50000.", "50000+."}
    assert (df["income"] == "50000+.").sum() == 6_186           # from the raw file: ` 50000+.`
    assert not df["education"].str.startswith(" ").any()        # leading spaces stripped
    assert df["age"].dtype == np.int64 and df["instance_weight"].dtype == np.float64
    assert df.loc[0, "age"] == 38 and df.loc[0, "class_of_worker"] == "Private"
    labels = census_labels(df)
    assert labels["income"].sum() == 6_186
    assert labels["marital"].sum() == (df["marital_stat"] == "Never married").sum() == 43_143


def test_only_test_split_is_split_deterministically(real_dir, census, whole):
    assert census.source == "test_only"
    assert "only census-income.test.gz" in census.split_note and str(real_dir) not in census.split_note
    assert len(census.train) + len(census.test) == TEST_ROWS
    assert len(census.test) == round(TEST_ROWS / 3)
    again = load_census_income(real_dir)
    pd.testing.assert_frame_equal(census.train, again.train)
    pd.testing.assert_frame_equal(census.test, again.test)
    _, other_test = ds._split(whole, 1 / 3, seed=1)
    assert not census.test["instance_weight"].equals(other_test["instance_weight"])
    # train and test are disjoint and together are the whole file
    def key(d: pd.DataFrame) -> np.ndarray:
        return np.sort(pd.util.hash_pandas_object(d, index=False).to_numpy())

    np.testing.assert_array_equal(key(pd.concat([census.train, census.test])), key(whole))


def test_tasks_drop_label_columns(census):
    f1, y1 = census_tasks(census.train, 1)
    f2, y2 = census_tasks(census.train, 2)
    assert list(y1) == ["income", "marital"] and list(y2) == ["education", "marital"]
    assert f1.shape[1] == 39 and f2.shape[1] == 38
    for f in (f1, f2):
        assert not {"income", "marital_stat", "instance_weight"} & set(f.columns)
    assert "education" in f1.columns and "education" not in f2.columns
    assert all(v.dtype == np.float32 and set(np.unique(v)) == {0.0, 1.0} for v in (*y1.values(), *y2.values()))
    with pytest.raises(ValueError, match="group"):
        census_tasks(census.train, 3)


def test_label_pearson_near_paper(whole):
    table = census_label_pearson(whole)
    assert table.loc[1, "abs_pearson"] == pytest.approx(0.1787, abs=5e-4)
    assert table.loc[2, "abs_pearson"] == pytest.approx(0.2376, abs=5e-4)
    assert (table["pearson"] < 0).all()                          # never married ↔ lower income / degree
    assert list(table["paper"]) == [0.1768, 0.2373]


def test_env_var_is_used_and_data_dir_wins(tmp_path, monkeypatch):
    monkeypatch.setitem(CENSUS_FILES, "test", (TEST_NAME, 9))
    (tmp_path / "env").mkdir()
    _write_gz(tmp_path / "env" / TEST_NAME, _tiny_lines(9))
    monkeypatch.setenv("MMOE_LAB_DATA_DIR", str(tmp_path / "env"))
    data = load_census_income()
    assert data.source == "test_only" and (len(data.train), len(data.test)) == (6, 3)
    with pytest.raises(FileNotFoundError, match="the `data_dir` argument"):
        load_census_income(tmp_path, download=False)             # explicit folder beats the env var
    monkeypatch.setenv("MMOE_LAB_DATA_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match=r"chosen by \$MMOE_LAB_DATA_DIR"):
        load_census_income(download=False)


# ------------------------------------------------------------------ corrupted copies
def test_truncated_gzip(real_dir, tmp_path):
    raw = (real_dir / TEST_NAME).read_bytes()
    (tmp_path / TEST_NAME).write_bytes(raw[: len(raw) // 2])   # a cut-off copy of the real file
    with pytest.raises(CensusDataError, match=r"census-income\.test\.gz.*not a complete gzip file.*download=True"):
        load_census_income(tmp_path)


def test_not_gzip_at_all(tmp_path):
    (tmp_path / TEST_NAME).write_text(_tiny_lines(1)[0])
    with pytest.raises(CensusDataError, match="not a complete gzip file"):
        read_census_file(tmp_path / TEST_NAME)


def test_wrong_field_count(tmp_path):
    lines = _tiny_lines(10)
    lines[6] = lines[6].rsplit(",", 1)[0]                        # 41 fields on line 7
    _write_gz(tmp_path / TEST_NAME, lines)
    with pytest.raises(CensusDataError, match=r"census-income\.test\.gz.*expected 42 comma-separated fields per row, line 7 has 41"):
        read_census_file(tmp_path / TEST_NAME)
    lines[6] = lines[6] + ", x, y"                               # 43 fields
    _write_gz(tmp_path / TEST_NAME, lines)
    with pytest.raises(CensusDataError, match="line 7 has 43"):
        read_census_file(tmp_path / TEST_NAME)


@pytest.mark.parametrize("content", [b"", gzip.compress(b""), gzip.compress(b"\n\n")], ids=["zero-bytes", "empty-gzip", "blank-lines"])
def test_empty_file(tmp_path, content):
    (tmp_path / TEST_NAME).write_bytes(content)
    with pytest.raises(CensusDataError, match=r"census-income\.test\.gz.*is empty; expected 99,762 rows"):
        load_census_income(tmp_path)


def test_wrong_row_count_and_bad_values(tmp_path):
    _write_gz(tmp_path / TEST_NAME, _tiny_lines(10))
    with pytest.raises(CensusDataError, match="has 10 rows; expected 99,762"):
        load_census_income(tmp_path)
    assert read_census_file(tmp_path / TEST_NAME).shape == (10, 42)
    lines = _tiny_lines(5)
    lines[2] = lines[2].replace("- 50000.", "maybe.")
    _write_gz(tmp_path / TEST_NAME, lines)
    with pytest.raises(CensusDataError, match="label 'maybe.' on line 3"):
        read_census_file(tmp_path / TEST_NAME)
    lines = _tiny_lines(5)
    lines[1] = "forty" + lines[1][1:]
    _write_gz(tmp_path / TEST_NAME, lines)
    with pytest.raises(CensusDataError, match="non-numeric value 'forty' in column 'age' on line 2"):
        read_census_file(tmp_path / TEST_NAME)


def test_missing_files_say_how_to_get_them(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match=r"holds neither file.*census-income\.data\.gz \(199,523 rows\).*download=True"):
        load_census_income(tmp_path, download=False)
    monkeypatch.delenv("MMOE_LAB_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert ds.default_cache_dir() == tmp_path / "cache" / "mmoe_lab"
    with pytest.raises(FileNotFoundError, match="chosen by the cache folder"):
        load_census_income(download=False)
    _write_gz(tmp_path / TRAIN_NAME, _tiny_lines(3))
    with pytest.raises(FileNotFoundError, match="holds census-income.data.gz but not census-income.test.gz"):
        load_census_income(tmp_path)                              # one file there: no download by default


def test_full_split_when_both_files_exist(tmp_path, monkeypatch):
    monkeypatch.setitem(CENSUS_FILES, "train", (TRAIN_NAME, 12))
    monkeypatch.setitem(CENSUS_FILES, "test", (TEST_NAME, 6))
    _write_gz(tmp_path / TRAIN_NAME, _tiny_lines(12))
    _write_gz(tmp_path / TEST_NAME, _tiny_lines(6))
    data = load_census_income(tmp_path)
    assert data.source == "full" and data.train.shape == (12, 42) and data.test.shape == (6, 42)
    assert "official split" in data.split_note


# ------------------------------------------------------------------ download (no network)
def _fake_uci_zip(train_lines: list[str], test_lines: list[str]) -> bytes:
    """The UCI layout: a zip holding census.tar.gz holding the two uncompressed files."""
    tar_buf = io.BytesIO()
    with tarfile.open(fileobj=tar_buf, mode="w:gz") as tf:
        for name, lines in (("census-income.data", train_lines), ("census-income.test", test_lines),
                            ("census-income.names", ["docs"])):
            payload = "".join(line + "\n" for line in lines).encode()
            info = tarfile.TarInfo(f"census/{name}")
            info.size = len(payload)
            tf.addfile(info, io.BytesIO(payload))
    zip_buf = io.BytesIO()
    with zipfile.ZipFile(zip_buf, "w") as zf:
        zf.writestr("census.tar.gz", tar_buf.getvalue())
        zf.writestr("census-income.names", "docs")
    return zip_buf.getvalue()


class _Archive(http.server.BaseHTTPRequestHandler):
    """Serves ``payload`` at any path with a Content-Length; counts the requests."""

    payload = b""
    requests: list[str] = []

    def do_GET(self) -> None:  # the name http.server calls
        type(self).requests.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "application/zip")
        self.send_header("Content-Length", str(len(self.payload)))
        self.end_headers()
        self.wfile.write(self.payload)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def served_archive():
    """A fake UCI archive (12 train rows, 6 test rows) served over loopback; yields (url, requests)."""
    handler = type("Handler", (_Archive,), {"payload": _fake_uci_zip(_tiny_lines(12), _tiny_lines(6)),
                                            "requests": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/static/public/117/census+income+kdd.zip", handler.requests
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def tiny_cache(tmp_path, monkeypatch):
    """An empty cache folder as the loader's default, and row counts that fit the fake archive."""
    monkeypatch.setitem(CENSUS_FILES, "train", (TRAIN_NAME, 12))
    monkeypatch.setitem(CENSUS_FILES, "test", (TEST_NAME, 6))
    monkeypatch.delenv("MMOE_LAB_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    return tmp_path / "mmoe_lab"


def test_first_use_downloads_over_http_with_a_progress_bar_and_says_so(tiny_cache, served_archive, capsys):
    url, requests = served_archive
    data = load_census_income(url=url)                           # default: download when missing
    assert requests == ["/static/public/117/census+income+kdd.zip"]
    assert data.source == "full" and data.train.shape == (12, 42) and data.test.shape == (6, 42)
    assert "downloaded from the UCI repository" in data.split_note
    assert sorted(p.name for p in tiny_cache.iterdir()) == [TRAIN_NAME, TEST_NAME]   # nothing else left
    out, err = capsys.readouterr()
    assert "is not in" in out and "downloading the official archive" in out and "Saved" in out
    assert "Census-Income (KDD) archive" in err and "100%" in err                 # the progress bar
    again = load_census_income(url=url)                          # second use: read from the cache
    assert requests == ["/static/public/117/census+income+kdd.zip"]
    pd.testing.assert_frame_equal(again.train, data.train)
    assert "downloading" not in capsys.readouterr().out


def test_offline_first_use_fails_with_the_clear_message(tiny_cache, capsys):
    with socket.socket() as s:                                   # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}/census.zip"
    with pytest.raises(FileNotFoundError, match=r"holds neither file.*download=True.*Tried to download "
                                                r"http://127\.0\.0\.1:\d+/census\.zip: .*refused"):
        load_census_income(url=closed)
    assert "downloading" in capsys.readouterr().out
    assert list(tiny_cache.iterdir()) == []                      # nothing half-written left


def test_download_false_never_fetches_and_a_test_only_folder_is_not_replaced(tiny_cache, tmp_path):
    calls: list[str] = []

    def fake_fetch(url, dest):
        calls.append(url)
        Path(dest).write_bytes(_fake_uci_zip(_tiny_lines(12), _tiny_lines(6)))

    with pytest.raises(FileNotFoundError, match="holds neither file"):
        load_census_income(download=False, _fetch=fake_fetch)
    assert calls == []
    folder = tmp_path / "test_only"                              # what CI points MMOE_LAB_DATA_DIR at
    folder.mkdir()
    _write_gz(folder / TEST_NAME, _tiny_lines(6))
    assert load_census_income(folder, _fetch=fake_fetch).source == "test_only"
    assert calls == []                                           # default: the test file is enough
    data = load_census_income(folder, download=True, _fetch=fake_fetch)
    assert calls == [ds.CENSUS_URL] and data.source == "full"    # True: fetch the official split
    load_census_income(folder, download=True, _fetch=fake_fetch)
    assert len(calls) == 1                                       # already there: no second fetch
    with pytest.raises(ValueError, match="download"):
        load_census_income(folder, download="yes")


def test_download_of_a_bad_archive(tmp_path, monkeypatch):
    def fetch_garbage(url, dest):
        Path(dest).write_bytes(b"<html>not found</html>")

    with pytest.raises(CensusDataError, match="could not be read"):
        load_census_income(tmp_path, _fetch=fetch_garbage)       # the default download path too

    def fetch_empty_zip(url, dest):
        with zipfile.ZipFile(dest, "w") as zf:
            zf.writestr("readme.txt", "nothing here")

    with pytest.raises(CensusDataError, match="holds no"):
        load_census_income(tmp_path, download=True, _fetch=fetch_empty_zip)

    def fetch_offline(url, dest):
        raise OSError("no network")

    with pytest.raises(OSError, match="could not download.*by hand"):
        load_census_income(tmp_path, download=True, _fetch=fetch_offline)
    assert list(tmp_path.iterdir()) == []                         # nothing half-written left


def test_argument_validation(tmp_path):
    with pytest.raises(ValueError, match="test_fraction"):
        load_census_income(tmp_path, test_fraction=1.5)
    with pytest.raises(ValueError, match="columns"):
        census_labels(pd.DataFrame({"age": [1]}))
