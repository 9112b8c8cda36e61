"""Baton: the control plane for AI orchestration in a business."""

from baton.errors import BatonError, ContractViolation, SpecError, StepFailed
from baton.steps.context import StepContext

__all__ = ["BatonError", "ContractViolation", "SpecError", "StepContext", "StepFailed"]
__version__ = "0.1.0"
