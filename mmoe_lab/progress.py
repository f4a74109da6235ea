"""Progress bars for training: of a training call in a notebook cell (:class:`StepProgress`) and
of a panel's **Train** button (:class:`TrainProgress`, one press from "compiling…" to "done")."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import ipywidgets as widgets

from ._validate import check_int

__all__ = ["StepProgress", "TrainProgress"]


class StepProgress(widgets.HBox):
    """A progress bar over training steps, to pass as a ``callback(done, total)``.

    ``compare_over_seeds(..., callback=StepProgress())`` shows it (in a notebook kernel; nothing
    is shown elsewhere) on the first report, when the total is known, and marks it done when
    ``done`` reaches the total. Its repr is short and stable, so a stored notebook output does
    not change from run to run.

    Args:
        total: steps to count to; ``None``: taken from the first report.
    """

    def __init__(self, total: int | None = None):
        self.total = None if total is None else check_int("total", total)
        self.bar = widgets.IntProgress(value=0, min=0, max=self.total or 1, description="training")
        self.label = widgets.Label("")
        super().__init__([self.bar, self.label])
        if self.total is not None:
            self._show()

    def _show(self) -> None:
        self.label.value = f"step 0/{self.total}"
        if _in_kernel():
            from IPython.display import display

            display(self)

    def __call__(self, done: int, total: int) -> None:
        """Report ``done`` of ``total`` steps (the callback protocol of
        :func:`mmoe_lab.experiments.compare_over_seeds`)."""
        if self.total is None:
            self.total = check_int("total", total)
            self.bar.max = self.total
            self._show()
        self.update(done)
        if done >= self.total:
            self.finish()

    def update(self, done: int) -> None:
        """Move the bar to ``done`` steps."""
        assert self.total is not None, "the total is set on creation or by the first report"
        self.bar.value = min(int(done), self.total)
        self.label.value = f"step {self.bar.value}/{self.total}"

    def finish(self) -> None:
        """Mark the bar finished (it stays visible, full)."""
        assert self.total is not None, "the total is set on creation or by the first report"
        self.bar.value = self.total
        self.bar.bar_style = "success"
        self.label.value = f"done: {self.total} steps"

    def __repr__(self) -> str:
        return f"StepProgress(total={self.total})"


def _in_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


class TrainProgress:
    """A panel's progress row and the life of one press of **Train**, written once for every panel.

    ``row`` (bar and label) goes into the panel. ``with progress.press(button, what):`` answers at
    once (button disabled, bar empty, ``"compiling…"``), and the object itself is the
    ``callback(done, total)`` the trainer calls: the label then names ``what`` and the ``unit``
    and shows the elapsed time. Leaving the block marks the bar done (``"done: N steps in t s"``)
    and re-enables the button, also when training fails (then the bar turns red).

    Args:
        idle: the label before the first press (e.g. what a press costs).
        unit: what ``done`` counts, ``"step"`` or ``"epoch"``.
    """

    def __init__(self, idle: str, unit: str = "step"):
        self.bar = widgets.IntProgress(value=0, min=0, max=1, description="progress")
        self.label = widgets.Label(idle)
        self.row = widgets.HBox([self.bar, self.label])
        self.unit, self.what, self.seconds = unit, "", 0.0
        self._start = time.perf_counter()

    def _elapsed(self) -> float:
        return time.perf_counter() - self._start

    @contextmanager
    def press(self, button: widgets.Button, what: str) -> Iterator[TrainProgress]:
        """One press: reset at once, count while training, say ``done`` (or stop red on an error)."""
        button.disabled = True
        self.what, self._start = what, time.perf_counter()
        self.bar.value, self.bar.bar_style = 0, ""  # empty first: lowering max would clamp a full bar
        self.bar.max = 1
        self.label.value = "compiling…"
        try:
            yield self
            self.seconds = self._elapsed()
            self.bar.value, self.bar.bar_style = self.bar.max, "success"
            self.label.value = f"done: {self.bar.max:,} {self.unit}s in {self.seconds:.0f} s"
        except BaseException:
            self.bar.bar_style = "danger"
            self.label.value = f"stopped after {self._elapsed():.0f} s: see the error below"
            raise
        finally:
            button.disabled = False

    def __call__(self, done: int, total: int) -> None:
        """Report ``done`` of ``total`` (the trainers' callback protocol)."""
        self.bar.max, self.bar.value = max(int(total), 1), int(done)
        self.label.value = f"{self.what} · {self.unit} {int(done):,}/{int(total):,} · {self._elapsed():.0f} s elapsed"

    def keras_callback(self, epochs: int) -> Any:
        """The same report from a Keras ``fit`` (one call per epoch)."""
        import keras

        report = self

        class _Report(keras.callbacks.Callback):
            def on_train_begin(self, logs: Any = None) -> None:
                report(0, epochs)

            def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
                report(epoch + 1, epochs)

        return _Report()
