"""The claims registry: one shape, stated rates, evaluated on stored evidence, asserted through ``check``."""

from __future__ import annotations

import pandas as pd
import pytest

from mmoe_lab import claims
from mmoe_lab.tools import checks


def _runs(omoe_half=0.08, sb_half=0.11, jsd_half=0.3):
    """One block of runs where MMoE is flat, the others rise at p = 0.5 (the lesson's shape)."""
    rows = []
    for s in range(8):
        for p, (sb, om, mm, j) in {0.5: (sb_half, omoe_half, 0.05, jsd_half), 1.0: (0.07, 0.05, 0.05, 0.04)}.items():
            rows += [{"arch": "shared_bottom", "correlation": p, "seed": s, "test_loss": sb, "jsd": None},
                     {"arch": "omoe", "correlation": p, "seed": s, "test_loss": om, "jsd": None},
                     {"arch": "mmoe", "correlation": p, "seed": s, "test_loss": mm, "jsd": j}]
    return pd.DataFrame(rows)


def test_registry_shape_and_stated_rates():
    keys = [f"{c.notebook}/{c.name}" for c in claims.REGISTRY]
    assert len(keys) == len(set(keys)), "names are unique per notebook"
    assert set(keys) == set(claims.RATES), "every claim states its rate, and no rate is left over"
    for c in claims.REGISTRY:
        held, units, seeds = c.rate
        assert 0 <= held <= units <= seeds and seeds >= claims.MIN_SEEDS, c.name
        assert c.assertable == (held == units and units >= claims.MIN_UNITS)
        assert c.source is None or c.source in checks.SOURCES


def test_stored_evidence_gives_the_stated_rates():
    """What `python -m mmoe_lab claims --from-csv` checks: the rates are what the stored evidence gives."""
    t = claims.table()
    for _, r in t.iterrows():
        assert (r["held"], r["units"], r["seeds"]) == claims.get(r["notebook"], r["name"]).rate, r["name"]
    assert not t["below"].any()


def test_evidence_never_uses_the_notebooks_own_seeds():
    for c in claims.REGISTRY:
        if c.source is not None:
            used = set(claims.read_rows(c.source)["seed"])
            assert not used & set(checks.SOURCES[c.source].committed), c.name


def test_holds_and_check_on_a_unit():
    for name in ("omoe_gap_grows", "sb_rises", "gates_diverge", "sb_gap_grows"):
        assert claims.get("04", name).holds(_runs())
    assert not claims.get("04", "omoe_gap_grows").holds(_runs(omoe_half=0.05))
    assert not claims.get("04", "sb_rises").holds(_runs(sb_half=0.06))
    asserted = claims.get("04", "gates_diverge")
    assert asserted.assertable and claims.check("04", "gates_diverge", _runs())
    with pytest.raises(AssertionError, match="gate JSD"):
        claims.check("04", "gates_diverge", _runs(jsd_half=0.01))


def test_check_refuses_printed_claims_and_unknown_ones():
    printed = next(c for c in claims.REGISTRY if not c.assertable)
    with pytest.raises(ValueError, match="print this one"):
        claims.check(printed.notebook, printed.name, pd.DataFrame())
    with pytest.raises(ValueError, match="registered claim"):
        claims.get("04", "nothing")
    with pytest.raises(ValueError, match="notebook"):
        claims.table("99")
    with pytest.raises(ValueError, match="columns"):
        claims.lesson_wide(pd.DataFrame({"arch": ["mmoe"]}))


def test_report_states_the_rate_and_the_verdict_here():
    c = next(c for c in claims.REGISTRY if c.source == "09_funnel")
    unit = claims.read_rows("09_funnel").query("seed == 1")
    line = claims.report(c.notebook, c.name, unit)
    held, units, _ = c.rate
    assert line.startswith(c.statement) and f"held on {held} of {units} other seeds" in line
    assert ("holds here" in line) == c.holds(unit)
    assert "here" not in claims.report("04", "paper_regime_mmoe_best") and "sets of seeds" in claims.report(
        "04", "paper_regime_mmoe_best")


def test_a_report_too_wide_for_one_line_puts_the_rate_on_its_own_line():
    for c in claims.REGISTRY:
        text = claims.report(c.notebook, c.name)
        assert all(len(line) <= 100 for line in text.splitlines()), text
        held, units, _ = c.rate
        rate = text.splitlines()[-1]
        assert f"held on {held} of {units} " in rate  # the rate is never split across lines
        if "\n" in text:
            assert rate.startswith("  held on ") and text.splitlines()[-2].endswith(":")


def test_notebook_shaped_units():
    """The notebooks pass their own tables: indexed by arch, or notebook 01's ``at_paper``."""
    unit = claims.read_rows("09_funnel").query("seed == 1")
    c = claims.get("09", "esmm_beats_naive_mae")
    assert c.holds(unit) == c.holds(unit.set_index("arch"))
    fig2 = claims.read_rows("01_fig2").query("seed == 1")
    at_paper = fig2.pivot(index="p", columns="preset", values="median")
    at_paper["paper Fig. 2"] = fig2.groupby("p")["fig2"].first()
    for name in ("paper_preset_matches_fig2", "teaching_preset_above_fig2"):
        c = claims.get("01", name)
        assert c.holds(at_paper) == c.holds(fig2)


def test_command_line_from_csv(capsys):
    assert checks.main(["02", "--from-csv"]) == 0
    out = capsys.readouterr().out
    assert "02/sb_rises" in out and "holds on 5 of 5" in out and "0 below the stated rate" in out


def test_command_line_fresh_seeds_without_training(capsys):
    rc = checks.main(["01", "--seeds", "2", "--first", "1000"])
    out = capsys.readouterr().out
    assert "01/paper_preset_matches_fig2" in out and "fresh" in out and "seeds 1000-1001" in out
    assert rc in (0, 1)


def test_collect_refuses_the_notebooks_seeds():
    with pytest.raises(ValueError, match="other than the notebook's own"):
        checks.collect("01_fig2", [0, 1])
    with pytest.raises(ValueError, match="key"):
        checks.collect("nothing", [1])


def test_package_commands(capsys, tmp_path):
    from mmoe_lab import __main__ as cli
    from mmoe_lab.tools import calibrate, lesson_search

    assert cli.main(["nothing"]) == 2 and "unknown command" in capsys.readouterr().err
    assert cli.main(["--help"]) == 0 and "claims [NN]" in capsys.readouterr().out
    assert cli.main(["lesson", "search", "--list"]) == 0
    assert f"done  {lesson_search.CHOSEN}" in capsys.readouterr().out
    assert lesson_search.main([]) == 2
    path = tmp_path / "rows.csv"
    calibrate.append_csv(path, pd.DataFrame({"a": [1]}))
    calibrate.append_csv(path, pd.DataFrame({"a": [2], "b": [3]}))
    assert pd.read_csv(path).to_dict("list") == {"a": [1, 2], "b": [pytest.approx(float("nan"), nan_ok=True), 3.0]}
    t = calibrate.paper_table(n_seeds=2, n_samples=2000)
    assert list(t["p"]) == [0.5, 0.8, 0.9, 0.95, 1.0] and t["median_sample_r"].iloc[-1] > 0.99
    with pytest.raises(ValueError, match="n_seeds"):
        calibrate.paper_table(n_seeds=0)
