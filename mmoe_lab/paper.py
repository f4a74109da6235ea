"""The reference numbers of the paper the kit retraces, in one place, each with its source.

Ma, Zhao, Yi, Chen, Hong and Chi, *Modeling Task Relationships in Multi-task Learning with
Multi-gate Mixture-of-Experts*, KDD 2018 (:data:`CITATION`).

=============================  ================================================================
name                           what it is
=============================  ================================================================
:data:`FIG2`                   label Pearson r against the task cosine ``p`` (Fig. 2)
:data:`FIG4`                   final test loss per model at ``p`` = 0.5, 0.9, 1.0 (Fig. 4)
:data:`SYNTHETIC_SETUP`        architecture and training protocol of the synthetic study (§5.1)
:data:`TABLE1`                 census-income group 1 test AUCs (Table 1)
:data:`CENSUS_TASK_GROUPS`     the two census-income task groups (§6.3)
:data:`CENSUS_LABEL_PEARSON`   label |Pearson| of each census-income task group (§6.3)
:data:`INDEPENDENT_DATASIZE`   not from the paper: an independent reimplementation's data-size runs
=============================  ================================================================

Values marked "read off" were read from a plot, not printed in the paper: treat them as
approximate. Fig. 5 (histograms of the final loss over repeated runs) has no single number to
quote, so it has no constant here.

The kit's own run settings (budgets, presets) are not here: they live next to the code that
uses them (e.g. :data:`mmoe_lab.study.STUDY_BUDGET`, :data:`mmoe_lab.synthetic.PRESETS`).
Importing this module loads numpy and pandas only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "ARCHITECTURES",
    "CITATION",
    "FIG2",
    "FIG4",
    "SyntheticSetup",
    "SYNTHETIC_SETUP",
    "TABLE1",
    "CENSUS_TASK_GROUPS",
    "CENSUS_LABEL_PEARSON",
    "INDEPENDENT_DATASIZE",
]

#: The paper, as cited throughout the kit.
CITATION = (
    "Jiaqi Ma, Zhe Zhao, Xinyang Yi, Jilin Chen, Lichan Hong and Ed H. Chi. Modeling Task Relationships "
    "in Multi-task Learning with Multi-gate Mixture-of-Experts. KDD 2018."
)

#: The paper's three architectures (Fig. 1 a-c), in the kit's order: shared-bottom, the one-gate
#: MoE (OMoE) and MMoE. Every module that loops over them uses this tuple.
ARCHITECTURES: tuple[str, str, str] = ("shared_bottom", "omoe", "mmoe")

# ---- synthetic data (§3.2, §5) -------------------------------------------------------------------

#: Fig. 2: label Pearson r of the two synthetic tasks against the cosine ``p`` of their weight
#: vectors, ``{p: r}`` (read off).
FIG2: dict[float, float] = {0.5: 0.07, 0.8: 0.19, 0.9: 0.30, 0.95: 0.45, 1.0: 1.0}

#: Fig. 4: final test loss of each model on the synthetic tasks, ``{p: {arch: loss}}`` (read
#: off the end of the training curves; one panel per ``p``).
FIG4: dict[float, dict[str, float]] = {
    0.5: {"shared_bottom": 0.25, "omoe": 0.145, "mmoe": 0.08},
    0.9: {"shared_bottom": 0.22, "omoe": 0.12, "mmoe": 0.08},
    1.0: {"shared_bottom": 0.20, "omoe": 0.08, "mmoe": 0.07},
}


@dataclass(frozen=True)
class SyntheticSetup:
    """The synthetic study's models and protocol, as the paper states them (§5.1).

    Attributes:
        num_experts: experts of OMoE and MMoE.
        expert_units: each expert is one ReLU layer of this width.
        tower_units: each task tower is one ReLU layer of this width.
        params: the parameter count the paper gives for this configuration.
        shared_bottom_units: width of the shared-bottom layer that matches ``params``
            (approximately: the paper matches parameter counts, not widths).
        optimizer: the optimizer of every run.
        learning_rates: the learning rates searched over.
        runs_per_cell: independent runs (data and initialisation) per (model, correlation).
    """

    num_experts: int
    expert_units: int
    tower_units: int
    params: int
    shared_bottom_units: int
    optimizer: str
    learning_rates: tuple[float, ...]
    runs_per_cell: int


#: §5.1: 8 experts × one 16-unit layer, towers of one 8-unit layer, 13,056 parameters, a
#: parameter-matched shared bottom about 113 units wide; Adam, learning rate from
#: {1e-4, 1e-3, 1e-2}; 200 runs per (model, correlation).
#:
#: The kit's own count is larger: :func:`mmoe_lab.models.mixture_params` counts every bias and
#: both gates, which gives 14,834 for input width 100 and two tasks, and
#: :func:`mmoe_lab.models.matched_shared_units` matches that with a 126-unit shared bottom. The
#: architecture (8 × 16 experts, 8-unit towers) is the same.
SYNTHETIC_SETUP = SyntheticSetup(
    num_experts=8,
    expert_units=16,
    tower_units=8,
    params=13_056,
    shared_bottom_units=113,
    optimizer="adam",
    learning_rates=(1e-4, 1e-3, 1e-2),
    runs_per_cell=200,
)

# ---- UCI census-income (§6.3) --------------------------------------------------------------------

#: §6.3: the two task groups, ``{group: (task, task)}``. Group 1: income > 50K and "never
#: married"; group 2: at least a college degree and "never married". The names are the kit's
#: label keys (see :func:`mmoe_lab.datasets.census_labels`).
CENSUS_TASK_GROUPS: dict[int, tuple[str, str]] = {1: ("income", "marital"), 2: ("education", "marital")}

#: §6.3: absolute Pearson correlation of the two labels of each task group, ``{group: |r|}``
#: (on all 299,285 rows).
CENSUS_LABEL_PEARSON: dict[int, float] = {1: 0.1768, 2: 0.2373}

#: Table 1: test AUC on census-income group 1 (income + marital), best and mean over runs,
#: indexed by model. The kit keeps MMoE's marital mean only (NaN for the other models).
TABLE1 = pd.DataFrame(
    {"income best": [0.9361, 0.9387, 0.9410], "income mean": [0.9295, 0.9319, 0.9359],
     "marital mean": [np.nan, np.nan, 0.9927]},
    index=pd.Index(["shared_bottom", "omoe", "mmoe"], name="arch"),
)


# ---- other reference measurements ------------------------------------------------------------

#: Not the paper's: an independent JAX implementation of the paper's synthetic experiment, written
#: separately from the kit by its authors before the kit existed (paper preset, p=0.5, 20 seeds, Adam 1e-3, batch 256,
#: 20k steps): mean test MSE per model and in how many of 20 seeds the ordering holds.
INDEPENDENT_DATASIZE = pd.DataFrame([
    {"n_train": "10000", "mmoe": 2.98, "omoe": 2.88, "shared_bottom": 2.42, "MMoE<SB": 0, "full ordering": 0, "N": 20},
    {"n_train": "100000", "mmoe": 0.174, "omoe": 0.180, "shared_bottom": 0.134, "MMoE<SB": 12, "full ordering": 7, "N": 20},
    {"n_train": "1000000", "mmoe": 0.064, "omoe": 0.094, "shared_bottom": 0.156, "MMoE<SB": 17, "full ordering": 11, "N": 20},
    {"n_train": "fresh", "mmoe": 0.062, "omoe": 0.083, "shared_bottom": 0.191, "MMoE<SB": 18, "full ordering": 13, "N": 20},
])
