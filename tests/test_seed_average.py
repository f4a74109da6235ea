"""compare_over_seeds: many seeds of the live budget in one replica stack (notebooks 02 and 04)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mmoe_lab.experiments import compare_over_seeds

TINY = dict(n_train=512, n_test=200, epochs=2, batch_size=128)


@pytest.mark.slow
def test_grid_layout_and_equivalence_to_a_solo_replica():
    from mmoe_lab.replicas import train_replicas

    out = compare_over_seeds(["omoe"], (0.5, 1.0), [1, 2], fresh_samples=False, setup="teaching", **TINY)
    runs, curves = out["runs"], out["curves"]
    assert list(runs[["correlation", "seed"]].itertuples(index=False, name=None)) == [(0.5, 1), (0.5, 2), (1.0, 1), (1.0, 2)]
    np.testing.assert_allclose(runs["test_loss"], runs[["task_0", "task_1"]].mean(axis=1))
    assert len(curves) == 4 * 2 and set(curves["step"]) == {4, 8}  # one point per epoch of 4 steps
    last = curves[curves["step"] == 8].set_index(["correlation", "seed"])["test_loss"]
    np.testing.assert_allclose(last.to_numpy(), runs.set_index(["correlation", "seed"])["test_loss"].to_numpy())
    # the (p = 1.0, seed 2) replica is the run train_replicas makes for that seed alone
    solo = train_replicas("omoe", [2], 1.0, preset="teaching", n_train=512, n_test=200, steps=8, batch_size=128,
                          learning_rate=3e-3, lr_schedule="cosine", eval_every=4)
    np.testing.assert_allclose(runs.iloc[3][["task_0", "task_1"]].to_numpy(float), solo["final_test"][0], rtol=1e-4)


@pytest.mark.slow
def test_fresh_samples_learn_and_are_deterministic():
    a = compare_over_seeds(["shared_bottom", "mmoe"], (0.5,), [0, 1], n_test=200, epochs=3, n_train=1024)
    b = compare_over_seeds(["shared_bottom", "mmoe"], (0.5,), [0, 1], n_test=200, epochs=3, n_train=1024)
    pd.testing.assert_frame_equal(a["runs"], b["runs"])
    c = a["curves"].groupby("step")["test_loss"].mean()
    assert c.iloc[-1] < c.iloc[0] < 1.5  # z-scored labels: training moves the loss below its start


def test_bad_arguments():
    with pytest.raises(ValueError, match="budget keys"):
        compare_over_seeds(["mmoe"], (0.5,), [0], epoch=3)
    with pytest.raises(ValueError, match="subset of"):
        compare_over_seeds(["moe"], (0.5,), [0])
    with pytest.raises(ValueError, match="at least one seed"):
        compare_over_seeds(["mmoe"], (0.5,), [])
    with pytest.raises(ValueError, match="setup"):
        compare_over_seeds(["mmoe"], (0.5,), [0], setup="paper")


def test_plot_seed_curves():
    import matplotlib.pyplot as plt

    from mmoe_lab.plots import plot_seed_curves

    rng = np.random.default_rng(0)
    runs = pd.DataFrame([{"correlation": p, "seed": s, "test_loss": rng.uniform(0.1, 1)}
                         for p in (1.0, 0.5) for s in range(3)])
    curves = pd.concat([runs.assign(step=k, test_loss=runs["test_loss"] * (3 - k)) for k in (1, 2)])
    fig = plot_seed_curves(curves, runs, by="correlation")
    assert [t.get_text() for t in fig.axes[1].get_xticklabels()] == ["p = 1", "p = 0.5"]
    assert len(fig.axes[1].lines) == 3 + 2  # one line per seed, one mean marker per p
    plt.close(fig)
    many = pd.DataFrame([{"correlation": p, "seed": s, "test_loss": rng.uniform(0.1, 1)}
                         for p in (1.0, 0.5) for s in range(40)])
    fig = plot_seed_curves(curves, many, by="correlation")
    assert len(fig.axes[1].lines) == 2 + 2  # 40 seeds: one strip of dots per p, no hairball of 40 lines
    plt.close(fig)
    with pytest.raises(ValueError, match="columns"):
        plot_seed_curves(curves.drop(columns="step"), runs)


@pytest.mark.slow
def test_gate_divergences_per_run():
    from mmoe_lab import diagnostics
    from mmoe_lab.experiments import gate_divergences
    from mmoe_lab.replicas import replica_gates

    out = compare_over_seeds(["mmoe"], (0.5, 1.0), [3, 4], fresh_samples=False, **TINY)
    x = np.random.default_rng(1).standard_normal((50, 100)).astype("float32")
    jsd = gate_divergences(out, x)
    assert jsd.shape == (2, 2) and list(jsd.columns) == [0.5, 1.0] and list(jsd.index) == [3, 4]
    g = replica_gates(out["configs"]["mmoe"], out["weights"]["mmoe"], x)
    r = int(out["runs"].set_index(["correlation", "seed"]).loc[(1.0, 4), "replica"])
    assert jsd.loc[4, 1.0] == pytest.approx(float(diagnostics.task_divergence(g[r])[0, 1]))
    with pytest.raises(ValueError, match="architectures `out` holds"):
        gate_divergences(out, x, arch="omoe")
