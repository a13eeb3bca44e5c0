"""Small, exact statistics the miners share: Wilson intervals, Newcombe differences, Fisher tests, BH.

Dreaming compares success rates of groups of sessions that are often small (a few dozen missions a night),
so intervals must behave at the boundaries (0% or 100% observed) where the normal approximation lies.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from pipeline.lazy import deferred

# scipy.stats costs seconds to import; the CLI and the code location import this module without testing
false_discovery_control = deferred("scipy.stats", "false_discovery_control")
fisher_exact = deferred("scipy.stats", "fisher_exact")


Z_95 = 1.959963984540054


def wilson_interval(successes: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """Score interval for a proportion; honest at 0/n and n/n where a Wald interval collapses to a point."""
    if n <= 0:
        return 0.0, 1.0
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def wilson_lower_bounds(successes: np.ndarray, n: np.ndarray, z: float = Z_95) -> np.ndarray:
    """Vectorized Wilson lower bound: ranks many candidate ranges at once, favouring rate *and* support."""
    n_safe = np.maximum(n, 1)
    p = successes / n_safe
    denom = 1 + z * z / n_safe
    centre = (p + z * z / (2 * n_safe)) / denom
    half = z * np.sqrt(p * (1 - p) / n_safe + z * z / (4 * n_safe * n_safe)) / denom
    return np.where(n > 0, np.clip(centre - half, 0.0, 1.0), 0.0)


def difference_interval(k1: int, n1: int, k2: int, n2: int, z: float = Z_95) -> tuple[float, float, float]:
    """Newcombe's hybrid score interval for p1 - p2; returns (diff, low, high)."""
    p1 = k1 / n1 if n1 else 0.0
    p2 = k2 / n2 if n2 else 0.0
    l1, u1 = wilson_interval(k1, n1, z)
    l2, u2 = wilson_interval(k2, n2, z)
    diff = p1 - p2
    low = diff - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = diff + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return diff, max(-1.0, low), min(1.0, high)


def fisher_p_value(k1: int, n1: int, k2: int, n2: int, alternative: str = "two-sided") -> float:
    """Exact test of equal success rates; exact because many of our groups hold fewer than 30 sessions."""
    if n1 == 0 or n2 == 0:
        return 1.0
    table = [[k1, n1 - k1], [k2, n2 - k2]]
    return float(fisher_exact(table, alternative=alternative).pvalue)


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """BH-adjusted p-values (q-values), so a night that tests hundreds of patterns keeps its FDR bounded."""
    if not p_values:
        return []
    return [float(q) for q in false_discovery_control(np.asarray(p_values, dtype=float), method="bh")]
