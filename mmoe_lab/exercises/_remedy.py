"""The value exercise ``remedy_for`` (notebook 06): which remedy for which cause of gate collapse.

The causes and remedies are those of :mod:`mmoe_lab.collapse` (``CAUSES``, ``REMEDIES``; a unit
test pins that the names here are the same, so this module need not import the lab, which loads
Keras). The answer is the remedy notebook 06 shows removing each cause's polarisation; for
``heavy_tail`` it is the one that also lowers the loss, since temperature only hides it.
"""

from __future__ import annotations

from typing import Any

from . import solutions as S
from ._core import Exercise, Result, describe

__all__ = ["CAUSES", "REMEDIES", "REMEDY_FOR", "RemedyExercise"]

#: The causes of :data:`mmoe_lab.collapse.CAUSES`, in its order.
CAUSES = ("healthy", "gate_init", "heavy_tail", "high_lr")
#: The remedies of :data:`mmoe_lab.collapse.REMEDIES`, in its order.
REMEDIES = ("none", "temperature", "gate_dropout", "balance_loss", "log_transform", "loss_weight")

_LABEL_ONLY = ("{remedy} changes only the labels of heavy_tail (the watch-time target): under {cause} it is "
               "the same as no remedy")
_PER_SAMPLE = ("{remedy} leaves {cause} polarised (section 4's table): it acts on how much each expert is used "
               "overall, not on each sample's saturated softmax")


def _why(cause: str, remedy: str) -> str:
    """Why ``remedy`` is not the answer for ``cause`` (a named mistake per wrong pair)."""
    if cause == "healthy":
        return "the healthy gates already mix (no polarisation): healthy needs no remedy, 'none'"
    if remedy in ("log_transform", "loss_weight") and cause != "heavy_tail":
        return _LABEL_ONLY.format(remedy=remedy, cause=cause)
    if remedy in ("gate_dropout", "balance_loss") and cause in ("gate_init", "high_lr"):
        return _PER_SAMPLE.format(remedy=remedy, cause=cause)
    if remedy == "none":
        return {
            "gate_init": "gate_init stays polarised without a remedy: its gates start saturated, and a saturated "
                         "softmax passes almost no gradient back to its logits",
            "heavy_tail": "heavy_tail's watch-time gate keeps sharpening without a remedy: its cause is the "
                          "label's long tail",
            "high_lr": "high_lr polarises within the first epoch without a remedy: something must soften the "
                       "gates",
        }[cause]
    if cause == "heavy_tail":
        return {
            "temperature": "temperature hides heavy_tail's polarisation but leaves its cause, the label's scale: "
                           "the test loss does not improve. Fix the label",
            "loss_weight": "a loss weight changes the loss's magnitude, not its shape: under Adam it barely "
                           "lowers the polarisation and raises the test loss. Fix the label itself",
            "gate_dropout": "gate dropout does not touch heavy_tail's cause, the label's long tail",
            "balance_loss": "the balance loss does not touch heavy_tail's cause, the label's long tail",
        }[remedy]
    return f"{remedy} is not what notebook 06 shows removing {cause}'s polarisation"  # pragma: no cover


class RemedyExercise(Exercise):
    """A value exercise: the answer is a dict cause → remedy name, checked entry by entry."""

    kind = "value"

    def __init__(self) -> None:
        super().__init__(
            "remedy_for", "06_gate_collapse",
            "which remedy of collapse.REMEDIES for each cause of collapse.CAUSES",
            "**Exercise (checked).** Match each cause of the lab to the remedy this notebook showed working: "
            "fill in `remedy_for`, a dict mapping every key of `collapse.CAUSES` to a key of "
            "`collapse.REMEDIES` (`\"none\"` if the setup needs none). For heavy_tail, pick the remedy that also "
            "lowers the test loss.",
            "reread section 4's table: which remedy takes each cause's polarisation to about 0? Temperature "
            "softens any saturated softmax; a label problem needs a label fix; gate dropout and the balance loss "
            "act on how much each expert is used overall.",
        )
        self.answer: dict[str, str] = dict(S.REMEDY_FOR)

    def solution_source(self) -> str:
        body = "".join(f'    "{cause}": "{self.answer[cause]}",\n' for cause in CAUSES)
        return f"{self.name} = {{\n{body}}}\n"

    def starter_source(self) -> str:
        body = "".join(f'    "{cause}": ...,\n' for cause in CAUSES)
        return (f"# each value: one of {', '.join(repr(r) for r in REMEDIES)}\n"
                f"{self.name} = {{\n{body}}}\n")

    def _not_attempted(self) -> Result:
        return self._result("not_attempted", f"not attempted yet — fill in every `...` of `{self.name}` above "
                                             "with a remedy name, run that cell, then run this one")

    def check(self, answer: Any) -> Result:
        """Check a dict cause → remedy; the message names the first wrong entry and why."""
        if answer is None or answer is Ellipsis:
            return self._not_attempted()
        if not isinstance(answer, dict):
            return self._result("failed", f"expected a dict cause → remedy name, got {describe(answer)}")
        if answer and all(v is Ellipsis or v is None for v in answer.values()):
            return self._not_attempted()
        unknown = [k for k in answer if k not in CAUSES]
        if unknown:
            return self._result("failed", f"{unknown[0]!r} is not a cause of collapse.CAUSES; the causes are "
                                          f"{', '.join(map(repr, CAUSES))}")
        missing = [c for c in CAUSES if c not in answer or answer[c] is Ellipsis or answer[c] is None]
        if missing:
            return self._result("failed", f"fill in {missing[0]!r}: every cause needs a remedy name "
                                          "('none' if it needs none)")
        for cause in CAUSES:
            remedy = answer[cause]
            if not isinstance(remedy, str):
                return self._result("failed", f"the remedy for {cause!r} should be a name (a string) from "
                                              f"collapse.REMEDIES, got {describe(remedy)}")
            if remedy not in REMEDIES:
                text = f"{remedy!r} (for {cause!r}) is not a remedy of collapse.REMEDIES"
                if cause == "high_lr" and ("lr" in remedy.lower() or "learning" in remedy.lower()):
                    text = ("lowering the learning rate is the real cure for high_lr, as the notebook says, but "
                            "it is not one of the lab's remedies: which of collapse.REMEDIES removes the "
                            "polarisation")
                return self._result("failed", f"{text}; choose one of {', '.join(map(repr, REMEDIES))}")
        wrong = [c for c in CAUSES if answer[c] != self.answer[c]]
        if wrong:
            first = wrong[0]
            more = f" ({len(wrong) - 1} more {'entry is' if len(wrong) == 2 else 'entries are'} wrong)" \
                if len(wrong) > 1 else ""
            return self._result("failed", f"{first!r} → {answer[first]!r}: {_why(first, answer[first])}{more}")
        return self._result("passed", f"all {len(CAUSES)} causes matched; note that under high_lr temperature "
                                      "removes the symptom, and the loss stays high until you lower the "
                                      "learning rate")


REMEDY_FOR = RemedyExercise()
