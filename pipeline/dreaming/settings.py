"""Knobs of the statistical dreamer. Defaults are what nightly runs use; they are part of a dream's inputs,
so a backfill with the same settings reproduces the nightly versions."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class DreamSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    min_support: int = Field(default=3, ge=1, description="Distinct sessions an entry needs (never fewer).")
    fdr: float = Field(default=0.05, gt=0, lt=1, description="Benjamini-Hochberg false discovery rate.")
    min_effect: float = Field(default=0.10, ge=0, description="Least success-rate difference worth an entry.")
    max_bins: int = Field(
        default=10, ge=2, description="Quantile bins per parameter (fewer when data is thin)."
    )
    min_bin_sessions: int = Field(default=10, ge=1, description="Sessions per bin before adding another bin.")
    joint_attribution: bool = Field(
        default=True, description="Judge each parameter among sessions with most other parameters in range."
    )
    joint_model: bool = Field(
        default=True, description="Also test each parameter with a joint logistic model of success."
    )
    joint_ridge: float = Field(
        default=1.0, ge=0, description="Ridge penalty of the joint model's coefficients."
    )
    strategy_band: float = Field(
        default=0.8,
        ge=0,
        lt=1,
        description="Central share of successful values an unproven parameter's strategy spans (0: none).",
    )
    elite_share: float = Field(
        default=0.3,
        ge=0,
        le=1,
        description="Share of the successful sessions, ranked by the joint model's credit to their settings, "
        "that shapes ranges and preferred values (0: every successful session does).",
    )
    elite_band: float = Field(
        default=0.8,
        gt=0,
        le=1,
        description="Central share of the elite sessions' values a rule's range spans.",
    )
    min_elite: int = Field(
        default=15, ge=1, description="Successful sessions a cell needs for its own range."
    )
    context_splits: tuple[int, ...] = Field(default=(2, 3), description="Context cells tried per feature.")
    min_conditional_gain: float = Field(
        default=0.05, ge=0, description="How much better per-context ranges must score to replace one range."
    )
    max_ngram: int = Field(default=3, ge=1, description="Longest tool-call sequence tested.")
    recovery_steps: int = Field(
        default=2, ge=1, description="Tool calls after an error that form a recovery."
    )
    evidence_limit: int = Field(
        default=25, ge=1, description="Session ids cited per entry (support counts all)."
    )
    stale_days: int = Field(default=28, ge=1, description="Retire entries with no evidence for this long.")
    merge_overlap: float = Field(default=0.5, ge=0, le=1, description="Range overlap that makes duplicates.")
