"""One call at the top of every notebook: quiet logs, seeds, determinism, plot style."""

from __future__ import annotations

import contextlib
import logging
import os
import platform
import random
import sys
import warnings
from typing import Any, Iterator

__all__ = ["setup_notebook", "quiet_import_tensorflow", "environment_report", "set_seed"]


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


def quiet_import_tensorflow():
    """Import TensorFlow and Keras with their start-up log lines suppressed.

    Returns:
        the ``tensorflow`` module.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    if "tensorflow" not in sys.modules:
        with _silence_fd2():
            import tensorflow as tf  # noqa: F401
            import keras  # noqa: F401
    import tensorflow as tf

    tf.get_logger().setLevel(logging.ERROR)
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    logging.getLogger("absl").setLevel(logging.ERROR)
    return tf


def set_seed(seed: int) -> None:
    """Seed Python, numpy and Keras/TensorFlow (``keras.utils.set_random_seed``)."""
    import numpy as np

    random.seed(seed)
    np.random.seed(seed)
    if "keras" in sys.modules:
        import keras

        keras.utils.set_random_seed(seed)


def setup_notebook(seed: int = 0, *, deterministic: bool = True, style: bool = True) -> None:
    """Prepare a notebook kernel: the first cell of every notebook in the kit.

    * sets ``TF_CPP_MIN_LOG_LEVEL`` before TensorFlow loads and imports it with its C++
      start-up lines silenced; sets the ``tensorflow`` logger to ERROR;
    * seeds Python, numpy and Keras with ``seed``;
    * turns on TensorFlow op determinism (same seed → same trained weights);
    * sets the matplotlib/seaborn style and PNG figure output used by every plot in the kit.

    Args:
        seed: the global seed.
        deterministic: enable ``tf.config.experimental.enable_op_determinism``.
        style: apply the kit's plot style.
    """
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    tf = quiet_import_tensorflow()
    if deterministic:
        tf.config.experimental.enable_op_determinism()
    set_seed(seed)
    if style:
        from . import plots

        plots.set_style()


def environment_report() -> dict[str, Any]:
    """Versions and hardware a learner should check first (used by ``00_start_here``).

    Returns:
        dict of name → value (python, tensorflow, keras, numpy, ipywidgets, jupyterlab, cpu
        count, GPU count, platform).
    """
    import importlib.metadata as md

    tf = quiet_import_tensorflow()
    import keras
    import numpy as np

    def version(pkg: str) -> str:
        try:
            return md.version(pkg)
        except md.PackageNotFoundError:
            return "not installed"

    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "keras backend": keras.backend.backend(),
        "numpy": np.__version__,
        "ipywidgets": version("ipywidgets"),
        "jupyterlab": version("jupyterlab"),
        "cpu cores": os.cpu_count(),
        "gpus": len(tf.config.list_physical_devices("GPU")),
        "platform": platform.system() + " " + platform.machine(),
    }
