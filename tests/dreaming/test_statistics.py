import pytest

from pipeline.dreaming.statistics import (
    benjamini_hochberg,
    difference_interval,
    fisher_p_value,
    wilson_interval,
)


def test_wilson_interval_stays_honest_at_the_boundaries():
    low, high = wilson_interval(0, 10)
    assert low == 0.0 and 0.2 < high < 0.35  # a Wald interval would claim [0, 0]
    low, high = wilson_interval(10, 10)
    assert 0.65 < low < 0.8 and high == pytest.approx(1.0)


def test_difference_interval_excludes_zero_only_for_a_real_gap():
    _, low, _ = difference_interval(40, 50, 10, 50)
    assert low > 0
    _, low, high = difference_interval(26, 50, 24, 50)
    assert low < 0 < high


def test_fisher_one_sided_direction():
    assert fisher_p_value(18, 20, 5, 20, alternative="greater") < 0.001
    assert fisher_p_value(18, 20, 5, 20, alternative="less") > 0.99


def test_benjamini_hochberg_adjusts_upward_and_keeps_order():
    raw = [0.001, 0.01, 0.04, 0.5]
    adjusted = benjamini_hochberg(raw)
    assert all(q >= p for p, q in zip(raw, adjusted, strict=True))
    assert adjusted == sorted(adjusted)
    assert adjusted[2] > 0.05  # 0.04 alone would pass; among four tests it does not
