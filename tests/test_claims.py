"""The claims registry: one shape, evaluated on stored evidence, asserted through ``check``."""

from __future__ import annotations

import pandas as pd
import pytest

from mmoe_lab import claims


def _runs(omoe_half=0.08, sb_half=0.11, jsd_half=0.3):
    """One block of runs where MMoE is flat, the others rise at p = 0.5 (the lesson's shape)."""
    rows = []
    for s in range(8):
        for p, (sb, om, mm, j) in {0.5: (sb_half, omoe_half, 0.05, jsd_half), 1.0: (0.07, 0.05, 0.05, 0.04)}.items():
            rows += [{"arch": "shared_bottom", "correlation": p, "seed": s, "test_loss": sb, "jsd": None},
                     {"arch": "omoe", "correlation": p, "seed": s, "test_loss": om, "jsd": None},
                     {"arch": "mmoe", "correlation": p, "seed": s, "test_loss": mm, "jsd": j}]
    return pd.DataFrame(rows)


def test_every_claim_evaluates_on_stored_evidence():
    t = claims.table()
    assert len(t) == len(claims.REGISTRY) and (t["units"] > 0).all()
    assert t["held"].le(t["units"]).all()
    assert t["assertable"].equals((t["held"] == t["units"]) & (t["units"] >= claims.MIN_UNITS))
    # the names are unique per notebook
    assert not t.duplicated(["notebook", "name"]).any()


def test_check_passes_and_fails_on_a_unit():
    assert claims.check("04", "omoe_gap_grows", _runs())
    assert claims.check("04", "gates_diverge", _runs())
    with pytest.raises(AssertionError, match="OMoE"):
        claims.check("04", "omoe_gap_grows", _runs(omoe_half=0.05))
    with pytest.raises(AssertionError, match="shared-bottom"):
        claims.check("04", "sb_rises", _runs(sb_half=0.06))


def test_check_refuses_claims_without_enough_evidence_and_unknown_ones():
    with pytest.raises(ValueError, match="do not assert"):
        claims.check("04", "paper_regime_mmoe_best", pd.DataFrame())
    with pytest.raises(ValueError, match="no claim"):
        claims.get("04", "nothing")
    with pytest.raises(ValueError, match="no claims registered"):
        claims.table("99")
    with pytest.raises(ValueError, match="columns"):
        claims.lesson_wide(pd.DataFrame({"arch": ["mmoe"]}))


def test_command_line(capsys):
    assert claims.main(["--notebook", "02"]) == 0
    out = capsys.readouterr().out
    assert "02/sb_rises" in out and "checked on" in out
