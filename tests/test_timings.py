"""``python -m mmoe_lab timings``: a notebook in a fresh kernel, timed, file untouched."""

from __future__ import annotations

import nbformat
import pytest

from mmoe_lab.tools import timings


def _notebook(path, source):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    nbformat.write(nb, path)
    return path.read_text()


@pytest.mark.slow
def test_times_a_notebook_without_touching_it(tmp_path):
    ok = tmp_path / "ok.ipynb"
    committed = _notebook(ok, "x = sum(i * i for i in range(2_000_000))\nprint(x)")
    bad = tmp_path / "bad.ipynb"
    _notebook(bad, "raise RuntimeError('boom')")
    out = tmp_path / "t.csv"
    rc = timings.main([str(ok), str(bad), "--out", str(out)])
    assert rc == 1  # one notebook failed
    assert ok.read_text() == committed  # executed in memory only
    import pandas as pd

    table = pd.read_csv(out)
    assert list(table["notebook"]) == ["ok.ipynb", "bad.ipynb"]
    assert list(table["ok"]) == [True, False] and "boom" in table.loc[1, "error"]
    assert table.loc[0, "wall_s"] > 0 and (table["wall_s"] >= 0).all() and table.loc[0, "cpu_s"] > 0
    assert {"load_before", "load_after", "backend"} <= set(table.columns)


def test_rejects_a_path_that_is_not_a_notebook(tmp_path):
    with pytest.raises(ValueError, match="ipynb"):
        timings.time_notebook(tmp_path / "missing.ipynb")


@pytest.mark.slow
def test_times_one_press_pinned_to_one_core():
    row = timings.time_press(1, 0.5, epochs=1, n_test=200, seeds=[0, 1])
    assert row["cores"] == 1 and row["p"] == 0.5 and row["wall_s"] > 0
    assert {"load_before", "load_after", "backend"} <= set(row)


def test_press_rejects_more_cores_than_the_process_may_use():
    import os

    n = len(os.sched_getaffinity(0))
    with pytest.raises(ValueError, match=f"`cores` should be at most the {n} CPUs"):
        timings.time_press(n + 1)
