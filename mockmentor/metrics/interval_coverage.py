"""Interval coverage: the share of human scores inside their predicted intervals (an `evaluate` metric).

A conformal interval at level 0.8 should cover about 80 % of new human scores; this reports
what it did, so a miscalibrated interval shows up next to the point metrics.
"""

import datasets
import evaluate
import numpy as np

_DESCRIPTION = "Share of references r with low <= r <= high."
_INPUTS = "references: human scores; low, high: the interval predicted for each."


class IntervalCoverage(evaluate.Metric):
    def _info(self) -> evaluate.MetricInfo:
        score = datasets.Value("float64")
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="",
            inputs_description=_INPUTS,
            features=datasets.Features({"references": score, "low": score, "high": score}),
        )

    def _compute(self, references: list[float], low: list[float], high: list[float]) -> dict:
        human = np.asarray(references, float)
        inside = (human >= np.asarray(low, float)) & (human <= np.asarray(high, float))
        return {"coverage": round(float(np.mean(inside)), 4)}
