"""The one place where the kit knows which Keras backend it runs on.

The kit's models are tiny (≈ 15k parameters), so a training step costs framework overhead, not
arithmetic. On the 2-core CPU the kit was measured on, one step of the MMoE model (batch 256)
takes ≈ 1 ms with JAX and ≈ 3 ms with TensorFlow, so **JAX is the default backend**: importing
:mod:`mmoe_lab` selects it unless ``KERAS_BACKEND`` is already set. TensorFlow stays installed
and in use where it is the right tool (the census feature pipeline's ``tf.data``, TensorBoard,
and as the framework of the classic multi-task tutorials); switch the whole kit with
``KERAS_BACKEND=tensorflow`` in the environment before Python starts (``make lab`` passes it
through).

Everything else in the package is written with ``keras.ops`` and ``keras.random``. The only
backend-specific code is here: seeding without importing TensorFlow, the compiled replica
training loop (:func:`replica_loop`, one small function per backend over the same
backend-agnostic step math), gradients for diagnostics (:func:`gradient_norm`), a compiled
matmul for benchmarks (:func:`compiled`), and importing Keras / TensorFlow with their start-up
logs silenced (:func:`quiet_import_keras`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from ._validate import invalid

__all__ = ["DEFAULT_BACKEND", "SUPPORTED", "select", "name", "quiet_import_keras", "quiet_import_tensorflow",
           "prepare", "set_random_seed", "enable_determinism", "compiled", "stateless_normal_rows", "replica_loop",
           "concurrent_training", "run_side_by_side", "gradients", "gradient_norm"]

#: The backend the kit selects when ``KERAS_BACKEND`` is unset (fastest measured on CPU).
DEFAULT_BACKEND = "jax"
#: Backends the kit's tests cover.
SUPPORTED = ("jax", "tensorflow")


def select() -> str:
    """Select the default backend unless the user chose one; quiet TensorFlow's C++ logs.

    Must run before Keras is imported (``import mmoe_lab`` calls it). Returns the backend
    name that Keras will use.
    """
    os.environ.setdefault("KERAS_BACKEND", DEFAULT_BACKEND)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    return os.environ["KERAS_BACKEND"]


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
    if select() == "tensorflow":
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
    select()
    if "tensorflow" not in sys.modules:
        with _silence_fd2():
            import keras  # noqa: F401
            import tensorflow as tf  # noqa: F401
    import tensorflow as tf

    tf.get_logger().setLevel(logging.ERROR)
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    logging.getLogger("absl").setLevel(logging.ERROR)
    return tf


def name() -> str:
    """The active Keras backend (``"jax"``, ``"tensorflow"``, ...)."""
    import keras

    return keras.backend.backend()


def set_random_seed(seed: int) -> None:
    """Seed Python, numpy and Keras' global seed generator.

    Like ``keras.utils.set_random_seed`` but without importing TensorFlow when it is not the
    backend (that import alone costs ≈ 7 s); TensorFlow's seed is set too if it is loaded.
    """
    import numpy as np

    if isinstance(seed, bool) or not isinstance(seed, int):
        raise invalid("seed", "an int", seed)
    random.seed(seed)
    np.random.seed(seed)
    if "keras" not in sys.modules:
        return
    import keras

    if keras.backend.backend() == "tensorflow" or "tensorflow" in sys.modules:
        keras.utils.set_random_seed(seed)
        return
    from keras.src.backend.common import global_state
    from keras.src.random import seed_generator
    from keras.src.utils import rng_utils

    global_state.set_global_attribute(rng_utils.GLOBAL_RANDOM_SEED, seed)
    global_state.set_global_attribute(seed_generator.GLOBAL_SEED_GENERATOR, None)


def prepare(seed: int = 0, *, deterministic: bool = True) -> None:
    """Ready this process to train: Keras imported quietly (:func:`quiet_import_keras`),
    deprecation warnings off, seeds set (:func:`set_random_seed`) and, with ``deterministic``,
    TensorFlow's op determinism on (:func:`enable_determinism`; JAX on the CPU is deterministic
    already). :func:`mmoe_lab.setup_notebook` does this and sets the plot style.
    """
    import warnings

    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    quiet_import_keras()
    if deterministic and name() == "tensorflow":
        quiet_import_tensorflow().config.experimental.enable_op_determinism()
    set_random_seed(seed)


def enable_determinism() -> None:
    """Same inputs, same seed → bit-identical results, on the active backend.

    TensorFlow needs op determinism switched on; XLA on the CPU (JAX) is deterministic already.
    """
    if name() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()


def compiled(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` compiled by the backend (``jax.jit`` or ``tf.function``); returns numpy-convertible."""
    backend = name()
    if backend == "jax":
        import jax

        return jax.jit(fn)
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.function(fn)
    return fn


def stateless_normal_rows(seeds: Any, step: Any, shape: tuple[int, ...]):
    """Standard normal draws ``(R, *shape)``: row ``r`` keyed by ``(seeds[r], step)`` alone.

    The replica trainer's fresh samples: a replica's batches depend on its own seed and the
    step, not on which other replicas share its stack, so the same seed sees the same inputs at
    every ``p``, in every architecture and in stacks of any size (paired comparisons). Usable
    inside a compiled step (``seeds`` an int32 ``(R,)`` tensor, ``step`` a traced scalar).
    """
    from keras import ops

    backend = name()
    seeds = ops.cast(seeds, "int32")
    step = ops.cast(step, "int32")
    if backend == "jax":
        import jax
        import jax.numpy as jnp

        def one(seed):
            key = jax.random.wrap_key_data(jnp.stack([seed, step]).astype(jnp.uint32), impl="threefry2x32")
            return jax.random.normal(key, shape)

        return jax.vmap(one)(seeds)
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.map_fn(lambda seed: tf.random.stateless_normal(shape, seed=tf.stack([seed, step])), seeds,
                         fn_output_signature=tf.float32)
    raise invalid("KERAS_BACKEND", f"one of {list(SUPPORTED)} for stateless sampling", backend)


def concurrent_training() -> bool:
    """Whether independent replica stacks should train in threads, side by side.

    A compiled JAX call releases the GIL while it runs, and one small stack keeps only about 1.4
    of the 2 cores busy, so the three architectures of a comparison train faster at once: the
    lesson's comparison (3 × 16 replicas × 6,000 steps) took 32 s instead of 55 s, with the same
    numbers; :func:`mmoe_lab.study.run_study` trains its units side by side the same way (41 s
    instead of 66 s for 6 small units). TensorFlow's compiled functions share its own thread
    pools; there the stacks train one after another.
    """
    return name() == "jax"


def run_side_by_side(fn: Callable[[Any], Any], items: Sequence[Any], *, threads: int,
                     poll: Callable[[], None] | None = None, interval: float = 0.25) -> Iterator[tuple[Any, Any]]:
    """``(item, fn(item))`` for every item: in order in this thread when ``threads <= 1``, else
    from a pool of ``threads`` threads, as they finish (see :func:`concurrent_training`).

    While waiting on the pool, ``poll()`` runs in *this* thread every ``interval`` seconds (a
    progress bar can read counters the workers write, without touching widgets from a worker).
    An exception in ``fn`` is raised here when its item comes up.
    """
    if threads <= 1:
        for item in items:
            yield item, fn(item)
        return
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

    with ThreadPoolExecutor(max_workers=threads) as pool:
        futures = {pool.submit(fn, item): i for i, item in enumerate(items)}
        pending = set(futures)
        while pending:
            finished, pending = wait(pending, timeout=interval, return_when=FIRST_COMPLETED)
            if poll is not None:
                poll()
            for future in finished:
                yield items[futures[future]], future.result()


def replica_loop(stack: Any, optimizer: Any, batch_fn: Callable[..., Any],
                 loss_fn: Callable[[Any, Any], Any]) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """Compiled training and evaluation functions for a replica stack, on the active backend.

    The step math is backend-agnostic and comes from the caller: ``batch_fn(data, idx, step)``
    returns a batch ``(x (R, B, d), y (R, B, T))`` in ``keras.ops`` (fresh samples or a gather
    from the training arrays), ``loss_fn(pred, y)`` returns per-replica, per-task losses
    ``(R, T)``. The total loss is their sum, so each replica's gradient is its own.

    Args:
        stack: a built Keras layer (:class:`mmoe_lab.replicas.ReplicaStack`).
        optimizer: a Keras optimizer, built on ``stack.trainable_variables``.
        batch_fn, loss_fn: as above.

    Returns:
        ``(train, evaluate)``: ``train(data, idx, start, k)`` runs ``k`` steps from step
        ``start`` (``idx``: batch indices ``(k, R, B)``, or a dummy for fresh samples), updates
        the stack's and optimizer's variables and returns the mean per-step losses ``(R, T)``
        as numpy; ``evaluate(x, y)`` returns ``loss_fn(stack(x), y)`` as numpy.
    """
    backend = name()
    if backend == "jax":
        return _jax_replica_loop(stack, optimizer, batch_fn, loss_fn)
    if backend == "tensorflow":
        return _tf_replica_loop(stack, optimizer, batch_fn, loss_fn)
    raise invalid("KERAS_BACKEND", f"one of {list(SUPPORTED)} for replica training", backend)


def _jax_replica_loop(stack, optimizer, batch_fn, loss_fn):
    import jax
    import jax.numpy as jnp
    import numpy as np

    def total_loss(trainable, x, y):
        pred, _ = stack.stateless_call(trainable, [], x)
        per = loss_fn(pred, y)
        return jnp.sum(per), per

    grad = jax.value_and_grad(total_loss, has_aux=True)

    @jax.jit
    def run(trainable, opt_vars, data, idx, start, k):
        def body(j, carry):
            tv, ov, acc = carry
            x, y = batch_fn(data, idx[j] if idx.ndim == 3 else idx, start + j)
            (_, per), grads = grad(tv, x, y)
            tv, ov = optimizer.stateless_apply(ov, grads, tv)
            return tv, ov, acc + per

        acc0 = jnp.zeros((stack.num_replicas, stack.cfg.num_tasks), jnp.float32)
        tv, ov, acc = jax.lax.fori_loop(0, k, body, (trainable, opt_vars, acc0))
        return tv, ov, acc / k

    @jax.jit
    def evaluate_fn(trainable, x, y):
        return total_loss(trainable, x, y)[1]

    def train(data, idx, start, k):
        tv = [v.value for v in stack.trainable_variables]
        ov = [v.value for v in optimizer.variables]
        tv, ov, mean = run(tv, ov, data, jnp.asarray(idx), jnp.asarray(start, jnp.int32), jnp.asarray(k, jnp.int32))
        for var, value in zip(stack.trainable_variables, tv, strict=True):
            var.assign(value)
        for var, value in zip(optimizer.variables, ov, strict=True):
            var.assign(value)
        return np.asarray(mean)

    def evaluate(x, y):
        return np.asarray(evaluate_fn([v.value for v in stack.trainable_variables], x, y))

    return train, evaluate


def _tf_replica_loop(stack, optimizer, batch_fn, loss_fn):
    import tensorflow as tf

    variables = stack.trainable_variables

    @tf.function(jit_compile=False, reduce_retracing=True)
    def run(data, idx, start, k):
        total = tf.zeros((stack.num_replicas, stack.cfg.num_tasks))
        for j in tf.range(k):
            x, y = batch_fn(data, idx[j] if idx.shape.rank == 3 else idx, start + j)
            with tf.GradientTape() as tape:
                per = loss_fn(stack(x), y)
                loss = tf.reduce_sum(per)
            optimizer.apply(tape.gradient(loss, variables), variables)
            total += per
        return total / tf.cast(k, tf.float32)

    @tf.function(reduce_retracing=True)
    def evaluate_fn(x, y):
        return loss_fn(stack(x), y)

    def train(data, idx, start, k):
        return run(data, tf.constant(idx), tf.constant(start, tf.int32), tf.constant(k, tf.int32)).numpy()

    def evaluate(x, y):
        return evaluate_fn(tf.constant(x), tf.constant(y)).numpy()

    return train, evaluate


def gradients(model: Any, variables: Sequence[Any], loss_of_outputs: Callable[[Any], Any], x: Any) -> list[Any]:
    """``∂ loss_of_outputs(model(x)) / ∂ v`` for each ``v`` in ``variables``, as numpy arrays.

    Args:
        model: a built Keras model or layer; x: its inputs.
        variables: the variables to differentiate with respect to (trainable variables of
            ``model``).
        loss_of_outputs: maps the model's outputs to a scalar loss (``keras.ops``).

    Returns:
        one array per variable, same shape as the variable (zeros where it does not matter).
    """
    import numpy as np

    backend = name()
    variables = list(variables)
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            loss = loss_of_outputs(model(x))
        grads = tape.gradient(loss, variables)
        # embedding tables get sparse IndexedSlices gradients: densify them
        return [np.zeros(v.shape, np.float32) if g is None else tf.convert_to_tensor(g).numpy()
                for v, g in zip(variables, grads, strict=True)]
    if backend == "jax":
        import jax

        trainable = model.trainable_variables
        index = {id(v): i for i, v in enumerate(trainable)}
        missing = [v.path for v in variables if id(v) not in index]
        if missing:
            raise invalid("variables", "trainable variables of `model`", missing, received=f"others: {missing}")
        values = [v.value for v in trainable]
        frozen = [v.value for v in model.non_trainable_variables]

        def loss(tv):
            out, _ = model.stateless_call(tv, frozen, x)
            return loss_of_outputs(out)

        grads = jax.grad(loss)(values)
        return [np.asarray(grads[index[id(v)]]) for v in variables]
    raise invalid("KERAS_BACKEND", f"one of {list(SUPPORTED)} for gradients", backend)


def gradient_norm(model: Any, variables: Sequence[Any], loss_of_outputs: Callable[[Any], Any], x: Any) -> float:
    """Global L2 norm of :func:`gradients` (``‖∂L/∂θ‖₂`` over all ``variables``)."""
    import numpy as np

    return float(np.sqrt(sum(float(np.sum(np.square(g))) for g in gradients(model, variables, loss_of_outputs, x))))
