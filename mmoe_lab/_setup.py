"""One call at the top of every notebook: backend, quiet logs, seeds, determinism, plot style.

An entry point: only the package's ``__init__`` imports this module, and nothing in the kit
depends on it (the pieces it calls live in :mod:`mmoe_lab.backend` and :mod:`mmoe_lab.plots`).
"""

from __future__ import annotations

import os
import platform
from typing import Any

from . import backend as _backend

__all__ = ["setup_notebook", "environment_report", "set_seed"]


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
    _backend.prepare(seed, deterministic=deterministic)
    if style:
        from . import plots  # matplotlib loads here, not on `import mmoe_lab`

        plots.set_style()


def environment_report() -> dict[str, Any]:
    """Versions and hardware a learner should check first (used by ``00_start_here``).

    Returns:
        dict of name → value (python, keras, its backend, jax, tensorflow, numpy, ipywidgets,
        jupyterlab, cpu count, the backend's devices, platform). TensorFlow's version is read
        from its package metadata, so the report does not import it.
    """
    import importlib.metadata as md

    keras = _backend.quiet_import_keras()
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
        tf = _backend.quiet_import_tensorflow()
        kinds = [d.device_type.lower() for d in tf.config.list_logical_devices()]
    else:
        return "unknown"
    return ", ".join(f"{k} × {kinds.count(k)}" for k in dict.fromkeys(kinds))
