"""Raw model output -> a score on the 0–5 scale, with a split-conformal interval.

Both are fitted out of fold across question groups: every row's raw output comes from a model
that never saw its question, so the map and the interval widths are those of a question the
scorer meets for the first time. The map is linear (least squares): an isotonic map, tried
first, flattened the ranking into steps and cost Pearson r on unseen questions. Both are kept
per regime, because an answer to a question with human-graded answers on file (`seen`: the kNN
features are there) is scored more reliably than one to a new question (`unseen`), and the
widths per band of predicted score (Mondrian): answers predicted near full marks are scored
more reliably than middling ones. Stored as plain numbers (JSON), so no pickled code runs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

REGIMES = ("seen", "unseen")
MIN_BAND_ROWS = 10


@dataclass(frozen=True)
class Calibration:
    slope: dict[str, float]  # per regime: score = slope * raw + intercept
    intercept: dict[str, float]
    band_edges: list[float]
    half_widths: dict[str, list[float]]  # per regime, one per band
    level: float

    def score(self, raw: np.ndarray, regime: np.ndarray) -> np.ndarray:
        out = np.empty(len(raw))
        for name in REGIMES:
            rows = regime == name
            out[rows] = self.slope[name] * raw[rows] + self.intercept[name]
        return np.clip(out, 0.0, 5.0)

    def interval(self, score: np.ndarray, regime: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        band = np.searchsorted(self.band_edges, score, side="right")
        half = np.array([self.half_widths[r][b] for r, b in zip(regime, band, strict=True)])
        return np.clip(score - half, 0.0, 5.0), np.clip(score + half, 0.0, 5.0)


def conformal_widths(residual: np.ndarray, band: np.ndarray, bands: int, level: float) -> list[float]:
    """The split-conformal quantile of |residual| in each band (all rows where a band has too few)."""
    widths = []
    for index in range(bands):
        own = residual[band == index]
        own = own if len(own) >= MIN_BAND_ROWS else residual
        rank = min(int(np.ceil((len(own) + 1) * level)), len(own))
        widths.append(float(np.sort(own)[rank - 1]))
    return widths


def fit_calibration(
    raw: np.ndarray,
    human: np.ndarray,
    regime: np.ndarray,
    interval_rows: np.ndarray,
    band_edges: list[float],
    level: float,
) -> Calibration:
    """Linear raw -> score per regime on out-of-fold `raw`; conformal widths from the rows in
    `interval_rows` (the real answers: their human scores are what an interval must cover)."""
    slopes, intercepts, widths = {}, {}, {}
    for name in REGIMES:
        rows = regime == name
        slope, intercept = np.polyfit(raw[rows], human[rows], 1)
        slopes[name], intercepts[name] = float(slope), float(intercept)
        own = rows & interval_rows
        calibrated = np.clip(slope * raw[own] + intercept, 0.0, 5.0)
        band = np.searchsorted(band_edges, calibrated, side="right")
        widths[name] = conformal_widths(np.abs(human[own] - calibrated), band, len(band_edges) + 1, level)
    return Calibration(slopes, intercepts, band_edges, widths, level)
