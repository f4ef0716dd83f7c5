"""Exceptions of the REDS toolkit.

``RedsError`` is the root. ``UserError`` and its subclasses mean bad input (a corrupt model, an
unsupported op, an infeasible budget, ...): the CLI prints their message on one line. Any other
exception is a bug and gets a traceback.
"""

from __future__ import annotations

from typing import Iterable


class RedsError(Exception):
    """Base class of every error raised on purpose by the toolkit."""


class UserError(RedsError):
    """Bad input from the user: the message says what is wrong and where."""


class ModelFormatError(UserError):
    """A .tflite file is corrupt, truncated or uses a feature the toolkit cannot read."""


class UnsupportedOpError(UserError):
    """The model uses an operator the REDS runtime does not implement."""

    def __init__(self, op: str, supported: Iterable[str], where: str = ""):
        self.op = op
        self.supported = sorted(supported)
        self.where = where
        loc = f" ({where})" if where else ""
        super().__init__(
            f"unsupported operator {op}{loc}; supported: {', '.join(self.supported)}"
        )


class MetadataError(UserError):
    """The REDS metadata blob (docs/metadata.md) is malformed or inconsistent with the model."""


class PlanError(UserError):
    """Channel groups or subnet widths cannot be derived or do not fit the model."""


class DatasetError(UserError):
    """A dataset is missing, unreadable or does not match the model."""


class InfeasibleBudgetError(UserError):
    """No subnetwork fits the requested budget. ``fraction`` / ``smallest_fraction``: both as
    shares of the full model, where the budget has one; ``detail`` replaces the short message."""

    def __init__(self, budget, smallest_feasible, unit: str = "", *, fraction=None,
                 smallest_fraction=None, detail: str | None = None):
        self.budget = budget
        self.smallest_feasible = smallest_feasible
        self.fraction, self.smallest_fraction = fraction, smallest_fraction
        u = f" {unit}" if unit else ""
        super().__init__(detail or (
            f"budget {budget}{u} is infeasible: the smallest feasible budget is "
            f"{smallest_feasible}{u}"
        ))
