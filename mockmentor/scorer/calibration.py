"""raw model output -> a score on the 0–5 scale, with a split-conformal interval per score band."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Calibration:
    """raw output -> score (linear, clipped) and interval half-widths per predicted-score band."""

    slope: float
    intercept: float
    band_edges: list[float]
    half_widths: list[float]
    level: float

    def score(self, raw: np.ndarray) -> np.ndarray:
        return np.clip(self.slope * raw + self.intercept, 0.0, 5.0)

    def interval(self, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        half = np.asarray(self.half_widths)[np.searchsorted(self.band_edges, score, side="right")]
        return np.clip(score - half, 0.0, 5.0), np.clip(score + half, 0.0, 5.0)


def fit_calibration(
    raw_train: np.ndarray,
    y_train: np.ndarray,
    raw_val: np.ndarray,
    y_val: np.ndarray,
    band_edges: list[float],
    level: float,
) -> Calibration:
    """Linear map fitted on training rows; split-conformal half-widths from validation rows.

    Conformal per band (Mondrian): answers predicted near full marks are scored more
    reliably than middling ones, so one global width would be too wide there and too
    narrow elsewhere. Each band keeps the finite-sample guarantee on its own rows.
    """
    slope, intercept = np.polyfit(raw_train, y_train, 1)
    base = Calibration(float(slope), float(intercept), band_edges, [0.0] * (len(band_edges) + 1), level)
    predicted = base.score(raw_val)
    residual = np.abs(y_val - predicted)
    band = np.searchsorted(band_edges, predicted, side="right")
    widths = []
    for index in range(len(band_edges) + 1):
        own = residual[band == index]
        own = own if len(own) >= 10 else residual  # too few rows for a band: use them all
        rank = min(int(np.ceil((len(own) + 1) * level)), len(own))
        widths.append(float(np.sort(own)[rank - 1]))
    return Calibration(base.slope, base.intercept, band_edges, widths, level)
