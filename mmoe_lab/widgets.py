"""Slider panels: thin ipywidgets wrappers around :mod:`mmoe_lab.plots` and the experiments.

Every panel follows the kit's widget convention:

* the notebook first draws the default view statically (an ordinary figure), then shows the
  panel;
* sliders have ``continuous_update=False``: work happens when the slider is released, not
  while it is dragged; cheap views redraw through :func:`ipywidgets.interactive_output`;
* training happens only when the **Train** button is pressed
  (:class:`~mmoe_lab.progress.TrainProgress`): the press answers at once with an empty bar and
  ``compiling…``, then counts steps or epochs with the elapsed time (widget state only, so
  stored outputs stay deterministic);
* figures are rendered to PNG into an :class:`ipywidgets.Image`, so the panel's outputs live
  in widget state and a headless run (nbval, nbconvert) stores nothing volatile.

Each panel records what its last callback computed in ``panel.state`` and counts redraws in
``panel.n_draws``; the tests set a control's ``.value`` (or click the button) and check these.
"""

from __future__ import annotations

import time
from typing import Any

import ipywidgets as widgets
import numpy as np

from . import plots
from .paper import ARCHITECTURES
from .progress import TrainProgress
from .synthetic import label_correlation, make_correlated_tasks

__all__ = [
    "Panel",
    # guided path (01-05)
    "correlation_panel", "shared_bottom_panel", "mmoe_panel", "comparison_panel", "study_panel",
    # gate collapse (06)
    "gate_collapse_panel",
]


# ============================================================================================
# Guided path (notebooks 01, 02, 04)
# ============================================================================================


class Panel(widgets.VBox):
    """A vertical box of controls, a status line and a figure, with a short, stable repr.

    Attributes:
        controls: name → the control widgets (sliders, dropdowns, buttons).
        image: the :class:`ipywidgets.Image` the current figure is drawn into.
        status: an :class:`ipywidgets.HTML` line under the controls.
        state: what the last callback computed (plain Python values).
        n_draws: how many times the figure has been (re)drawn.
    """

    def __init__(self, name: str, controls: dict[str, widgets.Widget], extra: list[widgets.Widget] | None = None):
        self.name = name
        self.controls = controls
        self.status = widgets.HTML()
        self.image = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
        self.state: dict[str, Any] = {}
        self.n_draws = 0
        super().__init__([widgets.HBox(list(controls.values())), *(extra or []), self.status, self.image])

    def show_figure(self, fig: Any) -> None:
        """Render a matplotlib figure into the panel (and close it), as a 2× PNG shown at its
        natural width, so it is neither blurry nor stretched."""
        png = plots.figure_png(fig, scale=2.0)
        self.image.width = str(plots.png_width(png) // 2)
        self.image.value = png
        self.n_draws += 1

    def __repr__(self) -> str:
        values = ", ".join(f"{k}={w.value!r}" for k, w in self.controls.items() if hasattr(w, "value"))
        return f"{self.name}({values})"


def _slider(description: str, value: float, lo: float, hi: float, step: float) -> widgets.FloatSlider:
    return widgets.FloatSlider(value=value, min=lo, max=hi, step=step, description=description,
                               continuous_update=False, readout_format=".2f")


def correlation_panel(correlation: float = 0.5, *, preset: str = "teaching", n_samples: int = 2000,
                      seed: int = 0) -> Panel:
    """Slider for the task correlation ``p``: redraws the y1-vs-y2 scatter and both coefficients.

    Each redraw samples ``n_samples`` rows from the generator (same ``seed``, so only ``p``
    changes), computes Pearson and Spearman r, and draws :func:`plots.plot_label_scatter`.
    ``panel.state`` holds ``p``, ``preset``, ``pearson``, ``spearman``, ``seconds`` (the
    callback's wall time) and ``cpu_seconds`` (its CPU time: the wall time on an idle machine,
    and unlike wall time not inflated when other processes share the cores).
    """
    p = _slider("p", correlation, 0.0, 1.0, 0.05)
    pre = widgets.Dropdown(options=list(_presets()), value=preset, description="preset")
    panel = Panel("correlation_panel", {"p": p, "preset": pre})

    def redraw(p: float, preset: str) -> None:
        start, cpu_start = time.perf_counter(), time.process_time()
        _, y = make_correlated_tasks(n_samples, correlation=p, preset=preset, random_state=seed)
        corr = label_correlation(y)
        pear, spear = float(corr["pearson"].iloc[0, 1]), float(corr["spearman"].iloc[0, 1])
        panel.show_figure(plots.plot_label_scatter(y, title=f"p = {p:.2f}, preset {preset!r}"))
        panel.status.value = f"label Pearson r = {pear:.3f} · Spearman r = {spear:.3f}"
        panel.state = {"p": p, "preset": preset, "pearson": pear, "spearman": spear,
                       "seconds": time.perf_counter() - start, "cpu_seconds": time.process_time() - cpu_start}

    panel.children = (*panel.children, widgets.interactive_output(redraw, {"p": p, "preset": pre}))
    return panel


def _presets() -> list[str]:
    from .synthetic import PRESETS

    return list(PRESETS)


def _training_panel(name: str, arch: str, controls: dict[str, widgets.Widget], *, n_train: int | None,
                    n_test: int | None, preset: str, seed: int, train_kwargs: dict[str, Any],
                    draw: Any, build_kwargs: Any, constants: dict[str, Any] | None = None) -> Panel:
    """Shared machinery of the panels that retrain a model when **Train** is pressed
    (``constants``: generator constants on top of ``preset``'s, e.g. the lesson's)."""
    from .experiments import LIVE_BUDGET

    epochs = train_kwargs.get("epochs", LIVE_BUDGET["epochs"])
    button = widgets.Button(description="Train", button_style="primary", icon="play")
    progress = TrainProgress(f"press Train: {epochs} epochs, a few seconds", unit="epoch")
    panel = Panel(name, {**controls, "train": button}, extra=[progress.row])
    panel.progress, panel.progress_label = progress.bar, progress.label

    def pending(**values: Any) -> None:
        """On slider release: say what pressing Train will do (cheap; no training)."""
        shown = ", ".join(f"{k} = {v:g}" for k, v in values.items())
        panel.status.value = f"<b>{shown}</b>: press <i>Train</i> to retrain ({epochs} epochs)"

    def train(_: Any = None) -> dict[str, Any]:
        from .experiments import live_splits, train_and_evaluate

        values = {k: w.value for k, w in controls.items()}
        with progress.press(button, plots.ARCH_LABELS[arch]):
            panel.status.value = "training…"
            data = live_splits(values["p"], seed, preset=preset, n_train=n_train, n_test=n_test, **(constants or {}))
            res = train_and_evaluate(arch, data, seed=seed, callbacks=[progress.keras_callback(epochs)],
                                     **train_kwargs, **build_kwargs(values))
            info = draw(panel, res, data, values)
        panel.state = {**values, "test_loss": res["mean_test_loss"], **info, "seconds": progress.seconds}
        panel.status.value = f"test MSE (mean over tasks) = {res['mean_test_loss']:.3f}" + "".join(
            f" · {k} = {v:.3f}" for k, v in info.items())
        panel.result = res
        return res

    panel.train = train
    button.on_click(train)
    panel.children = (*panel.children, widgets.interactive_output(pending, controls))
    return panel


def shared_bottom_panel(correlation: float = 0.5, *, initial: dict[str, Any] | None = None,
                        preset: str = "teaching", n_train: int | None = None, n_test: int | None = None,
                        seed: int = 0, **train_kwargs: Any) -> Panel:
    """Slider for ``p`` and a **Train** button: retrains the shared-bottom model at that ``p``.

    Args:
        correlation: initial ``p``.
        initial: optional ``{label: history}`` drawn before the first training (e.g. the
            notebook's Fig. 3 runs), so the panel opens with a picture and without training.
        preset, n_train, n_test, seed: data (defaults: the live budget).
        **train_kwargs: passed to :func:`mmoe_lab.experiments.train_and_evaluate`
            (e.g. ``epochs``).

    ``panel.state`` after training: ``p`` and ``test_loss``; ``panel.result`` the full result.
    """
    reference = dict(initial or {})

    def draw(panel: Panel, res: dict[str, Any], data: dict[str, Any], values: dict[str, Any]) -> dict[str, float]:
        runs = {**reference, f"p = {values['p']:.2f} (new)": res["history"]}
        panel.show_figure(plots.plot_loss_curves(runs, title="shared-bottom: test loss per epoch"))
        return {"label r": float(data["label_r"][0, 1])}

    panel = _training_panel("shared_bottom_panel", "shared_bottom", {"p": _slider("p", correlation, 0.0, 1.0, 0.05)},
                            n_train=n_train, n_test=n_test, preset=preset, seed=seed,
                            train_kwargs=train_kwargs, draw=draw, build_kwargs=lambda v: {})
    if reference:
        panel.show_figure(plots.plot_loss_curves(reference, title="shared-bottom: test loss per epoch"))
    return panel


def mmoe_panel(correlation: float = 0.5, num_experts: int = 8, *, initial_gates: Any = None,
               preset: str = "teaching", n_train: int | None = None, n_test: int | None = None,
               seed: int = 0, n_probe: int = 500, setup: str = "teaching", **train_kwargs: Any) -> Panel:
    """Sliders for ``p`` and the number of experts, and a **Train** button: retrains MMoE.

    After training the panel draws the per-task gate heatmaps on ``n_probe`` test samples and
    reports the test MSE and the Jensen–Shannon divergence between the two tasks' mean gate
    distributions (``panel.state``: ``p``, ``experts``, ``test_loss``, ``gate JSD``).

    Args:
        initial_gates: optional ``(B, T, E)`` gates drawn before the first training; they should
            come from the same tasks the panel trains on (``setup``).
        setup: ``"teaching"`` (the preset's own tasks, :data:`mmoe_lab.experiments.LIVE_BUDGET`)
            or ``"lesson"`` (the correlation lesson's harder tasks, narrower experts and budget,
            :data:`mmoe_lab.experiments.SETUPS`, as in :func:`~mmoe_lab.experiments.compare_over_seeds`).
            ``n_train`` and ``**train_kwargs`` override the setup's budget.
    """
    from ._validate import check_choice
    from .diagnostics import probe, task_divergence
    from .experiments import SETUPS

    check_choice("setup", setup, sorted(SETUPS))
    chosen = SETUPS[setup]
    budget = {k: v for k, v in chosen["budget"].items() if k not in ("n_train", "n_test")}
    train_kwargs = {**budget, **train_kwargs}
    n_train = chosen["budget"]["n_train"] if n_train is None else n_train

    controls = {"p": _slider("p", correlation, 0.0, 1.0, 0.05),
                "experts": widgets.IntSlider(value=num_experts, min=2, max=12, description="experts",
                                             continuous_update=False)}

    def draw(panel: Panel, res: dict[str, Any], data: dict[str, Any], values: dict[str, Any]) -> dict[str, float]:
        gates, _ = probe(res["model"], data["x_test"][:n_probe])
        jsd = float(task_divergence(gates)[0, 1])
        label = f"p = {values['p']:.2f}, E = {values['experts']}"
        panel.show_figure(plots.plot_gate_heatmaps({label: gates}, divergences={label: jsd}))
        return {"gate JSD": jsd}

    panel = _training_panel("mmoe_panel", "mmoe", controls, n_train=n_train, n_test=n_test, preset=preset,
                            seed=seed, train_kwargs=train_kwargs, draw=draw, constants=chosen["generator"],
                            build_kwargs=lambda v: {"num_experts": int(v["experts"]), **chosen["model"]})
    if initial_gates is not None:
        panel.show_figure(plots.plot_gate_heatmaps({f"p = {correlation:.2f}, E = {num_experts}":
                                                    np.asarray(initial_gates)}))
    return panel


# ---- the comparison of the three architectures (04) ----

#: What a press of the comparison panel's Train costs (3 architectures × 8 seeds × one p), as
#: shown to the learner: measured on 2 cores, on one core, and on a machine busy with other work.
PRESS_TIME = "about 20 s to 1 min on a free machine, 3 min or more on a busy one"


def comparison_panel(summary: Any, stored_runs: Any = None, *, correlation: float = 0.5,
                     seeds: Any = tuple(range(8)), archs: tuple[str, ...] = ARCHITECTURES,
                     reference_p: float = 1.0, compare_kwargs: dict[str, Any] | None = None) -> Panel:
    """Three architectures side by side at a chosen ``p``, and MMoE's lead against ``p`` (notebook 04).

    **Train** trains every architecture at the slider's ``p`` only, on ``seeds``
    (:func:`mmoe_lab.experiments.compare_over_seeds`, the lesson's live setup); the other side of
    the comparison, ``p = reference_p``, comes from the stored runs. A press answers at once: the
    bar resets and says ``compiling…``, then counts steps with the architecture and the elapsed
    time. Each press adds its two gaps to the right-hand plot (circle: one-gate gap, square:
    shared-bottom gap) and says where they fell on the stored band. **stored p** browses the
    stored study instead: it redraws at once (no training), showing every stored seed at that ``p``.

    The figure is :func:`mmoe_lab.plots.plot_comparison_view` (a notebook draws the opening view
    with it first).
    Args:
        summary: the stored study's gaps per ``p`` (:func:`mmoe_lab.study.gaps_by_correlation`).
        stored_runs: the stored runs, one row per ``(correlation, seed)``, one column per
            architecture (``summary``'s source); ``None``: no scrubber and no reference.
        correlation: the initial ``p`` of both sliders (the stored one snaps to a stored ``p``).
        seeds: seeds of a live comparison. archs: architectures trained.
        reference_p: the stored ``p`` drawn beside every view (short black lines).
        compare_kwargs: extra keyword arguments of ``compare_over_seeds`` (e.g. a shorter budget
            in tests).

    ``panel.state``: ``source`` (``"live"`` or ``"stored"``), ``p``, ``means`` ``{arch: MSE}``,
    ``omoe_gap``, ``sb_gap`` and, after a press, ``seconds``; ``panel.points``: every live result
    so far; ``panel.scrub``: the **stored p** slider (after a press it moves, without a redraw, to
    the stored ``p`` nearest the trained one).
    """
    from .study import describe_gap_draw, relative_gaps, stored_means_at, stored_runs_at

    points: list[dict[str, float]] = []
    seeds = [int(s) for s in seeds]
    stored_ps = [float(p) for p in summary.index]
    reference = stored_means_at(stored_runs, reference_p) if stored_runs is not None else None
    controls: dict[str, widgets.Widget] = {"p": _slider("p", correlation, 0.0, 1.0, 0.05)}
    button = widgets.Button(description="Train", button_style="primary", icon="play",
                            tooltip=f"train {len(archs)} architectures × {len(seeds)} seeds at this p")
    controls["train"] = button
    progress = TrainProgress(f"press Train: {PRESS_TIME}")
    extra: list[widgets.Widget] = [progress.row]
    scrub = None
    if stored_runs is not None:
        start = min(stored_ps, key=lambda q: abs(q - correlation))
        scrub = widgets.SelectionSlider(options=[(f"{q:g}", q) for q in stored_ps], value=start,
                                        description="stored p", continuous_update=True)
        extra.append(widgets.HBox([scrub, widgets.Label(f"browse the stored study ({int(summary['seeds'].min())} "
                                                        "seeds per p), no training")]))
    panel = Panel("comparison_panel", controls, extra=extra)
    panel.points, panel.progress, panel.progress_label, panel.scrub = points, progress.bar, progress.label, scrub
    quiet = {"scrub": False}  # True while Train moves the stored-p slider (no redraw from it)

    def draw(runs: Any, p: float, source: str) -> dict[str, float]:
        means = runs.groupby("arch")["test_loss"].mean()
        # an architecture not trained gives NaN means, hence NaN gaps
        gaps = {k: float(v) for k, v in relative_gaps(means.reindex(list(ARCHITECTURES))).items()}
        if source == "live":
            points.append({"p": p, **gaps})
        what = "your run" if source == "live" else "stored study"
        panel.show_figure(plots.plot_comparison_view(summary, runs, p, points=points, reference=reference,
                                                     reference_p=reference_p, source=what))
        panel.state = {"source": source, "p": p, "means": {str(a): float(v) for a, v in means.items()}, **gaps}
        # in the order of the bars
        panel.status.value = f"<b>{what}, p = {p:g}</b>: " + " · ".join(
            f"{plots.ARCH_LABELS[a]} {means[a]:.3f}" for a in plots.ARCH_LABELS if a in means.index)
        return gaps

    def on_scrub(change: Any) -> None:
        if quiet["scrub"]:
            return
        p = float(change["new"])
        draw(stored_runs_at(stored_runs, p), p, "stored")

    def train(_: Any = None) -> dict[str, Any]:
        from .experiments import compare_over_seeds

        p = float(controls["p"].value)
        # the architectures train side by side (one after another on TensorFlow); the count is their sum
        names = " + ".join(plots.ARCH_LABELS[a] for a in archs)
        with progress.press(button, names):
            panel.status.value = (f"<b>p = {p:g}</b>: training {len(archs)} architectures × {len(seeds)} seeds "
                                  f"({PRESS_TIME})")
            out = compare_over_seeds(list(archs), (p,), seeds, callback=progress, **(compare_kwargs or {}))
            gaps = draw(out["runs"], p, "live")
            if scrub is not None:  # the stored-p slider follows to the stored p nearest the trained one
                quiet["scrub"] = True
                try:
                    scrub.value = min(stored_ps, key=lambda q: abs(q - p))
                finally:
                    quiet["scrub"] = False
        panel.state["seconds"] = progress.seconds
        if all(np.isfinite(v) for v in gaps.values()):
            panel.status.value += "<br>" + describe_gap_draw(summary, {"p": p, **gaps}).replace("\n", "<br>")
        panel.result = out
        return out

    def pending(change: Any) -> None:
        """On slider release: say what pressing Train will do (cheap; no training)."""
        panel.status.value = (f"<b>p = {float(change['new']):g}</b>: press <i>Train</i> to train "
                              f"{len(archs)} architectures × {len(seeds)} seeds at this p ({PRESS_TIME})")

    panel.train = train
    button.on_click(train)
    controls["p"].observe(pending, names="value")
    if scrub is not None:
        scrub.observe(on_scrub, names="value")
        on_scrub({"new": scrub.value})
    else:
        panel.show_figure(plots.plot_gap_vs_p(summary))
    return panel


# ---- correlation sweep (05) ----
# Notebook 05: browse the precomputed study; no training, so it redraws instantly.


def study_panel(results: Any, *, preset: str = "teaching", correlation: float = 0.5,
                models: tuple[str, ...] = ARCHITECTURES, n_train: str = "10000") -> Panel:
    """Choose the preset, the correlation and the models; redraws Fig. 4's curves and Fig. 5's
    histogram for that choice from the stored study.

    Args:
        results: the tidy study table (:func:`mmoe_lab.study.load_results`).

    ``panel.state`` holds ``preset``, ``p``, ``models`` and ``means`` (mean final test MSE per
    shown model).
    """
    from .study.analysis import mean_curves, run_table

    curves = mean_curves(results)
    per_run = run_table(results)
    presets = sorted(results["preset"].unique())
    corrs = sorted(float(c) for c in results["correlation"].unique())
    controls = {
        "preset": widgets.Dropdown(options=presets, value=preset, description="preset"),
        "p": widgets.Dropdown(options=corrs, value=correlation, description="p"),
        "models": widgets.SelectMultiple(options=[(label, key) for key, label in plots.ARCH_LABELS.items()],
                                         value=tuple(models),
                                         description="models", rows=3),
    }
    hint = widgets.HTML("<i>models: hold Ctrl (⌘ on a Mac) or Shift while clicking to pick several</i>")
    panel = Panel("study_panel", controls, extra=[hint])

    def redraw(preset: str, p: float, models: tuple[str, ...]) -> None:
        shown = tuple(m for m in plots.ARCH_LABELS if m in models)
        if not shown:
            panel.status.value = "choose at least one model"
            return
        key = (preset, n_train, p)
        runs = per_run.xs(key, level=["preset", "n_train", "correlation"]) if key in per_run.index.droplevel("seed") else None
        shown = tuple(m for m in shown if runs is not None and m in runs and runs[m].notna().any())
        if runs is None or not shown:
            panel.status.value = f"no stored runs for preset {preset!r}, p = {p:g} and these models"
            panel.state = {"preset": preset, "p": p, "models": (), "means": {}}
            return
        fig = plots.plot_study_cell(curves, runs, preset, p, shown, n_train)
        means = {m: float(runs[m].mean()) for m in shown}
        panel.show_figure(fig)
        panel.status.value = " · ".join(f"{plots.ARCH_LABELS[m]} {v:.3f}" for m, v in means.items())
        panel.state = {"preset": preset, "p": p, "models": shown, "means": means}

    panel.children = (*panel.children,
                      widgets.interactive_output(redraw, {"preset": controls["preset"], "p": controls["p"],
                                                          "models": controls["models"]}))
    return panel



# ---- gate collapse panel (06) ----
# Notebook 06 (gate collapse lab): pick a cause, a remedy and its strength, press Train.


def gate_collapse_panel(cause: str = "high_lr", remedy: str = "temperature", strength: float = 1.0, *,
                        initial: dict[str, Any] | None = None, seed: int = 0, config: Any = None,
                        runner: Any = None) -> Panel:
    """Cause / remedy / strength controls and a **Train** button that retrains one small MMoE
    (:func:`mmoe_lab.collapse.run_scenario`) and redraws its gate diagnostics
    (:func:`plots.plot_gate_diagnostics`), with a per-epoch progress bar.

    Changing a control only updates the line that says what **Train** will do (e.g.
    ``τ = 10``); nothing trains until the button is pressed. ``panel.state`` holds the last
    run's ``cause, remedy, strength, setting, polarization, entropy, mean_test_loss`` and
    ``seconds``; ``panel.result`` the full run.

    Args:
        cause, remedy, strength: initial control values (see :mod:`mmoe_lab.collapse`).
        initial: a finished run to draw before any training (the static default view).
        seed: data and initialisation seed.
        config: a :class:`mmoe_lab.collapse.LabConfig` (default size if None).
        runner: replaces :func:`~mmoe_lab.collapse.run_scenario` (same signature; for tests).
    """
    from . import collapse

    config = config or collapse.LabConfig()
    run = runner or collapse.run_scenario
    controls = {
        "cause": widgets.Dropdown(options=list(collapse.CAUSES), value=cause, description="cause"),
        "remedy": widgets.Dropdown(options=list(collapse.REMEDIES), value=remedy, description="remedy"),
        "strength": widgets.FloatSlider(value=strength, min=0.0, max=1.0, step=0.1, description="strength",
                                        continuous_update=False, readout_format=".1f"),
    }
    button = widgets.Button(description="Train", button_style="primary", icon="play")
    progress = TrainProgress(f"press Train: {config.epochs} epochs, a few seconds", unit="epoch")
    setting = widgets.HTML()
    panel = Panel("gate_collapse_panel", {**controls, "train": button}, extra=[setting, progress.row])
    panel.progress, panel.progress_label, panel.setting = progress.bar, progress.label, setting

    shown: dict[str, Any] = {"run": None}  # the (cause, remedy, strength) drawn now

    def describe(cause: str, remedy: str, strength: float) -> None:
        """On any control change: say what is shown, or what pressing Train will do (no training)."""
        name, value = collapse.remedy_setting(remedy, strength)
        what, note = collapse.describe_remedy(cause, remedy, strength)
        if shown["run"] == (cause, remedy, float(strength)):
            setting.value = (f"shown: <b>{cause}</b> + <b>{what}</b>{note} · change a control, then press "
                             "<i>Train</i> for another run")
        else:
            setting.value = f"next run: <b>{cause}</b> + <b>{what}</b>{note} · press <i>Train</i>"
        panel.state = {**panel.state, "pending": (cause, remedy, strength, name, value)}

    def draw(res: dict[str, Any]) -> None:
        s = res["summary"]
        name, value = res["setting"]
        title = f"{res['cause']} + {res['remedy']}" + (f" ({name} = {value:.3g})" if res["remedy"] != "none" else "")
        panel.show_figure(plots.plot_gate_diagnostics(res, title=title))
        panel.status.value = " · ".join(
            f"{plots.task_label(task)}: polarisation {s.loc[task, 'polarization']:.2f}, entropy {s.loc[task, 'entropy']:.2f}, "
            f"test loss {res['test_loss'][task]:.3f}" for task in res["task_names"])
        panel.result = res

    def train(_: Any = None) -> dict[str, Any]:
        values = {k: w.value for k, w in controls.items()}
        with progress.press(button, "MMoE"):
            panel.status.value = "training…"
            setting.value = (f"training: <b>{values['cause']}</b> + <b>{values['remedy']}</b> "
                             f"(strength {values['strength']:.1f}) · a few seconds, longer on a busy machine")
            res = run(values["cause"], values["remedy"], values["strength"], seed=seed, config=config,
                      callbacks=[progress.keras_callback(config.epochs)])
            draw(res)
        shown["run"] = (values["cause"], values["remedy"], float(values["strength"]))
        describe(values["cause"], values["remedy"], values["strength"])
        s = res["summary"]
        panel.state = {**values, "setting": res["setting"], "polarization": float(s["polarization"].mean()),
                       "entropy": float(s["entropy"].mean()), "mean_test_loss": res["mean_test_loss"],
                       "seconds": progress.seconds}
        return res

    panel.train = train
    button.on_click(train)
    if initial is not None:
        draw(initial)
        shown["run"] = (initial.get("cause", cause), initial.get("remedy", remedy), float(strength))
    panel.children = (*panel.children, widgets.interactive_output(describe, controls))
    return panel


