"""Gate parsing and evaluation: the exit decision is a pure function, tested as a table."""

from __future__ import annotations

import pytest

from dataset_audit.errors import AuditUsageError
from dataset_audit.gates import evaluate, exit_code, parse_gate

KNOWN = {"duplicates.near_rate": "", "balance.imbalance_ratio": "", "integrity.unreadable_count": ""}


@pytest.mark.parametrize(("expr", "value", "passed"), [
    ("balance.imbalance_ratio>10", 12.0, False),
    ("balance.imbalance_ratio>10", 10.0, True),
    ("balance.imbalance_ratio >= 10", 10.0, False),
    ("integrity.unreadable_count<1", 0, False),
    ("integrity.unreadable_count == 0", 0, False),
    ("integrity.unreadable_count != 0", 0, True),
    ("integrity.unreadable_count<=3", 4, True),
    ("duplicates.near_rate>1%", 0.02, False),
    ("duplicates.near_rate>1%", 0.005, True),
    ("duplicates.near_rate>1e-3", 0.002, False),
])
def test_gate_table(expr, value, passed):
    gate = parse_gate(expr, KNOWN)
    assert evaluate(gate, {gate.metric: value}).passed is passed


def test_unknown_metric_lists_known_ones():
    with pytest.raises(AuditUsageError) as info:
        parse_gate("duplicates.rate>0", KNOWN)
    assert "unknown metric 'duplicates.rate'" in str(info.value)
    assert "duplicates.near_rate" in str(info.value)


@pytest.mark.parametrize("expr", ["near_rate", "a.b >> 3", "a.b > x", "> 3"])
def test_malformed_gates_are_usage_errors(expr):
    with pytest.raises(AuditUsageError, match="cannot read gate"):
        parse_gate(expr, KNOWN)


def test_metric_not_computed_fails_the_gate():
    gate = parse_gate("duplicates.near_rate>0.5", KNOWN)
    result = evaluate(gate, {})
    assert result.value is None and result.passed is False


def test_exit_codes():
    passing = evaluate(parse_gate("balance.imbalance_ratio>10", KNOWN), {"balance.imbalance_ratio": 2})
    failing = evaluate(parse_gate("balance.imbalance_ratio>10", KNOWN), {"balance.imbalance_ratio": 20})
    assert exit_code([]) == 0
    assert exit_code([passing]) == 0
    assert exit_code([passing, failing]) == 1
    assert exit_code([passing], analyser_errors=1) == 1
