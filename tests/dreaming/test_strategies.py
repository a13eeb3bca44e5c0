from datetime import timedelta

from pipeline.dreaming import DreamSettings
from pipeline.dreaming.statistical import mine_window, propose_ops
from pipeline.dreaming.window import load_window
from pipeline.playbooks.model import Section
from tests.dreaming.conftest import DAY
from tests.support.synthetic import fly_missions

UNPROVEN = "flight_director.abort_threshold"  # planted as irrelevant: never passes the gate


def _ops(home, settings=DreamSettings()):
    for offset in range(2):
        fly_missions(home, DAY - timedelta(days=offset), 300, seed=40 + offset)
    window = load_window(home, DAY, 7)
    return propose_ops(None, mine_window(window, settings), window, DAY, "pb-2026-11-05", settings)


def test_a_parameter_without_a_rule_gets_a_low_confidence_strategy_from_successful_sessions(home):
    ops = _ops(home)
    strategies = [op.entry for op in ops if op.entry is not None and op.entry.section == Section.STRATEGIES]
    by_parameter = {entry.rule.parameter: entry for entry in strategies}
    assert UNPROVEN in by_parameter
    entry = by_parameter[UNPROVEN]
    assert entry.confidence < 1 - DreamSettings().fdr  # it did not pass the gate
    assert entry.evidence and entry.support >= DreamSettings().min_support
    rec = entry.rule.recommend
    assert 0.0 < rec.min <= rec.value <= rec.max < 1.0  # inside the prior [0, 1], narrower than it


def test_parameters_with_a_significant_rule_get_no_strategy(home):
    ops = _ops(home)
    rules = {
        op.entry.rule.parameter for op in ops if op.entry is not None and op.entry.section == Section.RULES
    }
    strategies = {
        op.entry.rule.parameter
        for op in ops
        if op.entry is not None and op.entry.section == Section.STRATEGIES
    }
    assert "propulsion.throttle_margin" in rules
    assert not rules & strategies


def test_strategies_can_be_switched_off(home):
    ops = _ops(home, DreamSettings(strategy_band=0))
    assert not [op for op in ops if op.entry is not None and op.entry.section == Section.STRATEGIES]
