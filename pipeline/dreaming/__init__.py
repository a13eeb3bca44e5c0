"""Dreaming: review past sessions and the previous playbook, write the next playbook version.

Public entry point: `dream(home, day, window_days=7, backend="offline"|"claude", settings=DreamSettings())`.
"""

from pipeline.dreaming.curation import DeltaOp, apply_ops
from pipeline.dreaming.dream import DreamResult, DreamStats, dream
from pipeline.dreaming.settings import DreamSettings

__all__ = ["DeltaOp", "DreamResult", "DreamSettings", "DreamStats", "apply_ops", "dream"]
