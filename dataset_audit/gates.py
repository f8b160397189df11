"""Gates: thresholds over metrics. Parsing and evaluation are pure; only the CLI turns them into an exit code."""

from __future__ import annotations

import math
import operator
import re
from dataclasses import dataclass

from .errors import AuditUsageError

OPERATORS = {
    ">=": operator.ge, "<=": operator.le, "==": operator.eq, "!=": operator.ne, ">": operator.gt, "<": operator.lt,
}
_GATE = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*(>=|<=|==|!=|>|<)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?%?)\s*$")


@dataclass(frozen=True)
class Gate:
    expr: str
    metric: str
    op: str
    threshold: float


@dataclass(frozen=True)
class GateResult:
    gate: Gate
    value: float | None  # None when the metric was not computed (its analyser skipped or failed)
    passed: bool


def parse_gate(expr: str, known_metrics: dict[str, str]) -> Gate:
    match = _GATE.match(expr)
    if not match:
        raise AuditUsageError(
            f"cannot read gate {expr!r}: write METRIC OP VALUE, e.g. \"duplicates.near_rate>0.01\" "
            f"(OP is one of {', '.join(OPERATORS)})"
        )
    metric, op, raw = match.groups()
    if metric not in known_metrics:
        raise AuditUsageError(
            f"unknown metric {metric!r} in gate {expr!r}. Known metrics:\n  " + "\n  ".join(sorted(known_metrics))
        )
    threshold = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    return Gate(expr=expr.strip(), metric=metric, op=op, threshold=threshold)


def evaluate(gate: Gate, metrics: dict[str, float]) -> GateResult:
    """A gate FAILS when its condition holds ("fail on"). A metric that was not computed fails the gate too:
    a CI gate must not pass silently because the analyser behind it did not run."""
    value = metrics.get(gate.metric)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return GateResult(gate=gate, value=None, passed=False)
    return GateResult(gate=gate, value=float(value), passed=not OPERATORS[gate.op](float(value), gate.threshold))


def exit_code(results: list[GateResult], analyser_errors: int = 0) -> int:
    """0 when every gate passes and every analyser ran, 1 otherwise (2 is reserved for usage errors)."""
    return 1 if analyser_errors or any(not r.passed for r in results) else 0
