"""One call at the top of every notebook: backend, quiet logs, seeds, determinism, plot style."""

from __future__ import annotations

import contextlib
import logging
import os
import platform
import sys
import warnings
from collections.abc import Iterator
from typing import Any

from . import backend as _backend

__all__ = ["setup_notebook", "quiet_import_tensorflow", "quiet_import_keras", "environment_report", "set_seed"]


@contextlib.contextmanager
def _silence_fd2() -> Iterator[None]:
    """Send OS-level stderr (fd 2) to /dev/null for the duration of the block.

    TensorFlow's C++ runtime prints a few lines (oneDNN, CUDA stubs) straight to fd 2 while it
    is imported, before its own log settings apply; Jupyter kernels forward fd 2 into the
    notebook, where strict nbval would compare them.
    """
    try:
        saved = os.dup(2)
    except OSError:  # no real fd 2 (unusual embedding): nothing to silence
        yield
        return
    try:
        sys.stderr.flush()
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def quiet_import_keras():
    """Import Keras on the kit's backend (:mod:`mmoe_lab.backend`) with start-up logs suppressed.

    Does not import TensorFlow unless it is the backend (that import alone costs ≈ 7 s).

    Returns:
        the ``keras`` module.
    """
    if _backend.select() == "tensorflow":
        quiet_import_tensorflow()
    elif "keras" not in sys.modules:
        with _silence_fd2():
            import keras  # noqa: F401
    import keras

    return keras


def quiet_import_tensorflow():
    """Import TensorFlow (and Keras) with their start-up log lines suppressed.

    For the parts of the kit that use TensorFlow itself (``tf.data``, TensorBoard, the census
    feature pipeline); the kit's models run on the default backend without it.

    Returns:
        the ``tensorflow`` module.
    """
    _backend.select()
    if "tensorflow" not in sys.modules:
        with _silence_fd2():
            import keras  # noqa: F401
            import tensorflow as tf  # noqa: F401
    import tensorflow as tf

    tf.get_logger().setLevel(logging.ERROR)
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    logging.getLogger("absl").setLevel(logging.ERROR)
    return tf


def set_seed(seed: int) -> None:
    """Seed Python, numpy and Keras (:func:`mmoe_lab.backend.set_random_seed`)."""
    _backend.set_random_seed(seed)


def setup_notebook(seed: int = 0, *, deterministic: bool = True, style: bool = True) -> None:
    """Prepare a notebook kernel: the first cell of every notebook in the kit.

    * selects the Keras backend (JAX unless ``KERAS_BACKEND`` is set; see
      :mod:`mmoe_lab.backend`) and imports Keras with start-up log lines silenced; TensorFlow
      is imported only if it is the backend;
    * seeds Python, numpy and Keras with ``seed``;
    * on TensorFlow, turns on op determinism (same seed → same trained weights; JAX on the
      CPU is deterministic already);
    * sets the matplotlib/seaborn style and PNG figure output used by every plot in the kit.

    Args:
        seed: the global seed.
        deterministic: on TensorFlow, enable ``tf.config.experimental.enable_op_determinism``.
        style: apply the kit's plot style.
    """
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    keras = quiet_import_keras()
    if deterministic and keras.backend.backend() == "tensorflow":
        quiet_import_tensorflow().config.experimental.enable_op_determinism()
    set_seed(seed)
    if style:
        from . import plots

        plots.set_style()


def environment_report() -> dict[str, Any]:
    """Versions and hardware a learner should check first (used by ``00_start_here``).

    Returns:
        dict of name → value (python, keras, its backend, jax, tensorflow, numpy, ipywidgets,
        jupyterlab, cpu count, the backend's devices, platform). TensorFlow's version is read
        from its package metadata, so the report does not import it.
    """
    import importlib.metadata as md

    keras = quiet_import_keras()
    import numpy as np

    def version(pkg: str) -> str:
        try:
            return md.version(pkg)
        except md.PackageNotFoundError:
            return "not installed"

    return {
        "python": platform.python_version(),
        "keras": keras.__version__,
        "keras backend": keras.backend.backend(),
        "jax": version("jax"),
        "tensorflow": version("tensorflow"),
        "numpy": np.__version__,
        "ipywidgets": version("ipywidgets"),
        "jupyterlab": version("jupyterlab"),
        "cpu cores": os.cpu_count(),
        "devices": _devices(keras.backend.backend()),
        "platform": platform.system() + " " + platform.machine(),
    }


def _devices(backend: str) -> str:
    """The devices the backend computes on, e.g. ``"cpu × 1"`` or ``"gpu × 2"``."""
    if backend == "jax":
        import jax

        kinds = [d.platform for d in jax.devices()]
    elif backend == "tensorflow":
        tf = quiet_import_tensorflow()
        kinds = [d.device_type.lower() for d in tf.config.list_logical_devices()]
    else:
        return "unknown"
    return ", ".join(f"{k} × {kinds.count(k)}" for k in dict.fromkeys(kinds))
