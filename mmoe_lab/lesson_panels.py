"""The guided lessons' live panels on the stored band (notebooks 02 and 03).

Notebooks 02 and 03 each teach one architecture (shared-bottom, the one-gate MoE) and read a
live run against the stored lesson study (``data/study/lesson``: 200 seeds at each of six ``p``,
the lesson setup of :data:`mmoe_lab.experiments.LESSON_GENERATOR`). This module holds

* the tables and sentences they need: :func:`load_lesson_runs`, :func:`loss_band` (where the
  mean of 8 seeds lands), :func:`describe_rise`, :func:`describe_draw`, :func:`describe_gate`,
  :func:`describe_block_rise`;
* their panels, :func:`shared_bottom_p_panel` and :func:`one_gate_panel`: a ``p`` slider and a
  **Train** button that trains one architecture on 8 seeds at that ``p`` only and adds the
  result to the stored band.

A press of **Train** answers at once: the bar resets and says "compiling…", then
"<architecture> · step k/N · t s elapsed", then "done: N steps in t s". Nothing trains before
a press, so a panel's stored output is the same on every machine.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import numpy as np
import pandas as pd

from . import plots
from ._validate import check_choice, check_columns, check_int, check_ndim, invalid
from .io import wrap_text
from .paper import ARCHITECTURES, FIG4
from .progress import TrainProgress
from .widgets import Panel

__all__ = [
    "EXPECTED_SECONDS",
    "load_lesson_runs",
    "loss_band",
    "describe_rise",
    "describe_draw",
    "describe_gate",
    "describe_block_rise",
    "shared_bottom_p_panel",
    "one_gate_panel",
]

#: What one press of Train (one architecture × 8 seeds × one ``p``, the lesson setup) takes:
#: two idle cores at the low end, a busy or one-core machine at the high end.
EXPECTED_SECONDS = (10, 60)


def load_lesson_runs(path: str | Path, preset: str = "teaching", n_train: str = "fresh") -> pd.DataFrame:
    """A stored study as one row per run: mean final test MSE over tasks, one column per architecture.

    Args:
        path: a study folder (e.g. ``"../data/study/lesson"``), as :func:`mmoe_lab.study.load_results` reads.
        preset, n_train: which of the study's cells to keep (the lesson study: ``"teaching"``,
            ``"fresh"``).

    Returns:
        DataFrame indexed by ``(correlation, seed)`` with a column per architecture it holds.
    """
    from .study import load_results, run_table

    table = run_table(load_results(path))
    key = (preset, str(n_train))
    if key not in table.index.droplevel(["correlation", "seed"]):
        have = sorted(set(table.index.droplevel(["correlation", "seed"])))
        raise invalid("preset, n_train", f"a cell the study holds, one of {have}", key)
    runs = table.xs(key, level=["preset", "n_train"])
    return runs[[a for a in ARCHITECTURES if a in runs.columns]]


def loss_band(stored_runs: pd.DataFrame, arch: str, block: int = 8,
              band: tuple[float, float] = (0.1, 0.9)) -> pd.DataFrame:
    """One architecture's mean loss per ``p`` and where the mean of ``block`` seeds lands.

    The seeds at each ``p`` are cut into disjoint blocks of ``block`` consecutive seeds; the
    ``band`` quantiles of the block means show where a live run on ``block`` seeds is expected
    to fall.

    Args:
        stored_runs: :func:`load_lesson_runs`'s table (index ``(correlation, seed)``).
        arch: the column to read. block: seeds per block. band: lower and upper quantile.

    Returns:
        DataFrame indexed by ``p``: ``mean`` (over all seeds), ``lo``, ``hi`` (band of block
        means), ``seeds`` and ``blocks``; ``attrs`` hold ``arch``, ``block`` and ``coverage``.
    """
    check_choice("arch", arch, sorted(stored_runs.columns))
    block = check_int("block", block, 1)
    lo_q, hi_q = (float(q) for q in band)
    if not 0.0 <= lo_q < hi_q <= 1.0:
        raise invalid("band", "two quantiles 0 <= lo < hi <= 1", band)
    rows = []
    for p, g in stored_runs[arch].dropna().groupby(level="correlation"):
        seeds = g.index.get_level_values("seed").to_numpy()
        means = g.groupby((seeds - seeds.min()) // block).mean()
        rows.append({"p": float(p), "mean": float(g.mean()), "lo": float(means.quantile(lo_q)),
                     "hi": float(means.quantile(hi_q)), "seeds": len(g), "blocks": len(means)})
    if not rows:
        raise invalid("stored_runs", f"a table with {arch!r} runs", None, received=f"no {arch!r} runs")
    out = pd.DataFrame(rows).set_index("p")
    out.attrs.update({"arch": arch, "block": block, "coverage": hi_q - lo_q})
    return out


def _at(band: pd.DataFrame, p: float) -> tuple[float, float, float, bool]:
    """``mean, lo, hi`` of ``band`` at ``p`` (linear between stored ``p``), and whether ``p`` is stored."""
    ps = np.asarray(band.index, dtype=float)
    stored = bool(np.isclose(ps, p).any())
    return (float(np.interp(p, ps, band["mean"])), float(np.interp(p, ps, band["lo"])),
            float(np.interp(p, ps, band["hi"])), stored)


def describe_rise(band: pd.DataFrame, arch: str, p_from: float = 1.0, p_to: float = 0.5) -> str:
    """One sentence: how much the stored mean loss rises from ``p_from`` to ``p_to``, relative
    to ``p_from``, beside the same ratio of the paper's Fig. 4 where it has both values (wrapped
    at 100 characters, :func:`mmoe_lab.io.wrap_text`)."""
    check_choice("arch", arch, sorted(plots.ARCH_LABELS))
    check_columns("band", band, ["mean", "lo", "hi", "seeds"])
    a, _, _, _ = _at(band, p_from)
    b, _, _, _ = _at(band, p_to)
    text = (f"{plots.ARCH_LABELS[arch]}: mean test MSE over {int(band['seeds'].min())} seeds is {a:.3f} at "
            f"p = {p_from:g} and {b:.3f} at p = {p_to:g}, {b / a - 1:+.0%} relative to p = {p_from:g}")
    if p_from in FIG4 and p_to in FIG4:
        paper = FIG4[p_to][arch] / FIG4[p_from][arch] - 1
        text += f" (the paper's Fig. 4: {paper:+.0%})"
    return wrap_text(text + ".")


def describe_draw(band: pd.DataFrame, p: float, value: float, arch: str, seeds: int | None = None) -> str:
    """One sentence that reads where a live mean ``value`` at ``p`` fell on the stored band
    (wrapped at 100 characters; in a panel's HTML status line its line breaks read as spaces).

    Args:
        band: :func:`loss_band`'s table. p: the live run's ``p`` (between stored values, the band
            is read linearly). value: the live run's mean loss. arch: its architecture.
        seeds: how many seeds the live mean is over (default: the band's block size).
    """
    check_choice("arch", arch, sorted(plots.ARCH_LABELS))
    check_columns("band", band, ["mean", "lo", "hi", "seeds"])
    mean, lo, hi, stored = _at(band, float(p))
    block = int(band.attrs.get("block", 8))
    n = block if seeds is None else check_int("seeds", seeds)
    where = "inside" if lo <= value <= hi else ("above" if value > hi else "below")
    side = "at" if round(value, 3) == round(mean, 3) else ("above" if value > mean else "below")
    band_text = f"{lo:.3f}–{hi:.3f}" + ("" if stored else ", read between the stored p")
    return wrap_text(f"At p = {float(p):g} your {n}-seed mean for {plots.ARCH_LABELS[arch]} is {value:.3f}: "
                     f"{where} the band where {band.attrs.get('coverage', 0.8):.0%} of {block}-seed means land "
                     f"({band_text}), {side} the {int(band['seeds'].min())}-seed mean {mean:.3f}.")


def describe_gate(gates: Any) -> str:
    """One sentence on a one-gate MoE's gate weights ``(B, T, E)``: the range of the mean weight
    per expert, the normalised entropy, and whether every task receives the same mix (wrapped at
    100 characters)."""
    from .diagnostics import normalized_entropy
    g = check_ndim("gates", gates, 3, "(batch, tasks, experts)", dtype=float)
    mean = g[:, 0].mean(axis=0)
    e = g.shape[2]
    same = bool(np.allclose(g, g[:, :1], atol=1e-6))
    entropy = float(np.mean(normalized_entropy(g)))
    return wrap_text(f"The gate's mean weight per expert runs from {mean.min():.3f} to {mean.max():.3f} around "
                     f"the uniform 1/{e} = {1 / e:.3f}; its normalised entropy is {entropy:.2f} (1 = an even "
                     f"mix, 0 = one expert); every task receives the same mix: {'yes' if same else 'no'}.")


def describe_block_rise(stored_runs: pd.DataFrame, arch: str, p_from: float = 1.0, p_to: float = 0.5,
                        block: int = 8) -> str:
    """One sentence: on how many stored blocks of ``block`` seeds the mean loss is higher at
    ``p_to`` than at ``p_from`` (the same seeds at both ``p``; wrapped at 100 characters)."""
    check_choice("arch", arch, sorted(stored_runs.columns))
    block = check_int("block", block, 1)
    wide = stored_runs[arch].unstack("correlation")[[p_from, p_to]].dropna()
    seeds = wide.index.to_numpy()
    means = wide.groupby((seeds - seeds.min()) // block).mean()
    rose = int((means[p_to] > means[p_from]).sum())
    return wrap_text(f"On {rose} of {len(means)} stored blocks of {block} seeds (seeds {seeds.min()}–"
                     f"{seeds.max()}), {plots.ARCH_LABELS[arch]}'s mean test MSE is higher at p = {p_to:g} "
                     f"than at p = {p_from:g}.")


# ---- the panels ----------------------------------------------------------------------------


def _band_panel(name: str, arch: str, stored_runs: pd.DataFrame, *, correlation: float, seeds: Sequence[int],
                compare_kwargs: dict[str, Any] | None,
                left: Callable[[Any, dict[str, Any] | None, float], dict[str, Any]] | None) -> Panel:
    """Shared machinery: a ``p`` slider, **Train** (``arch`` × ``seeds`` at that ``p``), progress,
    and the figure: ``left`` (optional) beside :func:`mmoe_lab.plots.plot_loss_band_vs_p`."""
    import matplotlib.pyplot as plt

    band = loss_band(stored_runs, arch)
    seeds = [int(s) for s in seeds]
    label_arch = plots.ARCH_LABELS[arch]
    p_slider = widgets.FloatSlider(value=correlation, min=0.0, max=1.0, step=0.05, description="p",
                                   continuous_update=False, readout_format=".2f")
    button = widgets.Button(description="Train", button_style="primary", icon="play",
                            tooltip=f"train {label_arch} on {len(seeds)} seeds at this p")
    lo_s, hi_s = EXPECTED_SECONDS
    progress = TrainProgress(f"press Train: about {lo_s}–{hi_s} s ({len(seeds)} seeds at this p)")
    panel = Panel(name, {"p": p_slider, "train": button}, extra=[progress.row])
    panel.band, panel.points, panel.progress, panel.progress_label = band, [], progress.bar, progress.label
    panel.state = {"source": "stored", "p": float(correlation)}
    shown: dict[str, Any] = {"result": None, "p": float(correlation)}  # the last press, drawn on the left

    def draw(marker_p: float) -> dict[str, Any]:
        """Redraw the figure with the dotted line at ``marker_p`` (the slider) and the last press on
        the left; returns what ``left`` read from that press (for ``panel.state``)."""
        extra: dict[str, Any] = {}
        if left is None:
            fig, ax = plt.subplots(figsize=(7.0, 3.4), layout="constrained")
        else:
            fig, (ax0, ax) = plt.subplots(1, 2, figsize=(9.4, 4.2), layout="constrained",
                                          gridspec_kw={"width_ratios": [1, 1.35]})
            extra = left(ax0, shown["result"], shown["p"])
        plots.plot_loss_band_vs_p(band, panel.points, arch, marker_p=marker_p, ax=ax, legend_below=left is not None)
        panel.show_figure(fig)
        return extra

    def pending(change: Any) -> None:
        """On slider release: move the dotted line and say what pressing Train will do (no training)."""
        draw(float(change["new"]))
        panel.status.value = (f"<b>p = {float(change['new']):g}</b>: press <i>Train</i> to train {label_arch} on "
                              f"{len(seeds)} seeds at this p")

    def train(_: Any = None) -> dict[str, Any]:
        from .experiments import compare_over_seeds

        p = float(p_slider.value)
        with progress.press(button, label_arch):
            panel.status.value = f"training {label_arch} on {len(seeds)} seeds at p = {p:g}…"
            out = compare_over_seeds([arch], (p,), seeds, callback=progress, **(compare_kwargs or {}))
            losses = out["runs"]["test_loss"].to_numpy(dtype=float)
            point = {"p": p, "loss": float(losses.mean()), "seeds": losses.tolist()}
            panel.points.append(point)
            shown["result"], shown["p"] = out, p
            extra = draw(p)
        panel.status.value = describe_draw(band, p, point["loss"], arch, seeds=len(seeds))
        panel.state = {"source": "live", "p": p, "mean": point["loss"], "seeds": point["seeds"],
                       "seconds": progress.seconds, **extra}
        panel.result = out
        return out

    panel.train = train
    button.on_click(train)
    p_slider.observe(pending, names="value")
    draw(float(correlation))
    panel.status.value = (f"stored study: {label_arch} over {int(band['seeds'].min())} seeds per p; press "
                          f"<i>Train</i> to add your own {len(seeds)} seeds at p = {float(correlation):g}")
    return panel


def shared_bottom_p_panel(stored_runs: pd.DataFrame, *, correlation: float = 0.5, seeds: Sequence[int] = tuple(range(8)),
                          compare_kwargs: dict[str, Any] | None = None) -> Panel:
    """Shared-bottom's loss as ``p`` moves: the stored band, and your 8 seeds at the ``p`` you choose.

    Controls: a ``p`` slider (description ``"p"``) and a **Train** button (description
    ``"Train"``), which trains shared-bottom on ``seeds`` at that ``p`` in the lesson setup
    (:func:`mmoe_lab.experiments.compare_over_seeds`) and adds the 8-seed mean (a filled square)
    and the single seeds (dots) to :func:`mmoe_lab.plots.plot_loss_band_vs_p`; the status line
    says where the mean fell (:func:`describe_draw`).

    Args:
        stored_runs: :func:`load_lesson_runs` of the lesson study (a ``shared_bottom`` column).
        correlation: the slider's initial ``p``. seeds: the seeds one press trains.
        compare_kwargs: extra keyword arguments of ``compare_over_seeds`` (e.g. a shorter budget
            in tests).

    ``panel.state`` after a press: ``source`` (``"live"``), ``p``, ``mean``, ``seeds`` (single
    losses) and ``seconds``; ``panel.points``: every press so far; ``panel.result``: the last run.
    """
    return _band_panel("shared_bottom_p_panel", "shared_bottom", stored_runs, correlation=correlation, seeds=seeds,
                       compare_kwargs=compare_kwargs, left=None)


def one_gate_panel(stored_runs: pd.DataFrame, *, correlation: float = 0.5, seeds: Sequence[int] = tuple(range(8)),
                   compare_kwargs: dict[str, Any] | None = None, n_probe: int = 500) -> Panel:
    """The one-gate MoE as ``p`` moves: the one mix both towers share, and its loss on the stored band.

    Controls as :func:`shared_bottom_p_panel` (``"p"``, ``"Train"``). Left: the gate's mean
    weight per expert (whiskers: 10–90 % over ``n_probe`` inputs) of the first seed's model, the
    mix that both towers receive; before a press, an untrained gate. Right: the stored band of
    the one-gate MoE with your 8-seed means (filled circles) and single seeds.

    ``panel.state`` after a press: as :func:`shared_bottom_p_panel`, plus ``mix`` (the mean
    weight per expert) and ``same_mix`` (every task receives the same weights).
    """
    n_probe = check_int("n_probe", n_probe, 1)

    def left(ax: Any, result: dict[str, Any] | None, p: float) -> dict[str, Any]:
        if result is None:
            plots.plot_gate_mix(np.full((1, 8), 1 / 8), ax=ax, title="before training: an even mix")
            return {}
        from .replicas import replica_gates

        cfg = result["configs"]["omoe"]
        x = np.random.default_rng(0).standard_normal((n_probe, cfg.input_dim)).astype(np.float32)
        gates = replica_gates(cfg, result["weights"]["omoe"], x)[0]  # the first seed's model: (B, T, E)
        plots.plot_gate_mix(gates[:, 0], ax=ax, title=f"p = {p:g}: the one gate's mix, seed {int(result['runs']['seed'].iloc[0])}")
        return {"mix": gates[:, 0].mean(axis=0).tolist(), "same_mix": bool(np.allclose(gates, gates[:, :1]))}

    return _band_panel("one_gate_panel", "omoe", stored_runs, correlation=correlation, seeds=seeds,
                       compare_kwargs=compare_kwargs, left=left)
