"""Score agreement: predicted vs human scores on the 0–5 scale, as a Hugging Face `evaluate` metric.

Loaded by path (`mockmentor.metrics.load_metric`), which works offline, so every result
carries the metric's name, description and citation the `evaluate` way. Quadratic weighted
kappa needs categories, so scores are rounded to the nearest 0.5 (the graders' own
granularity) before it is computed.
"""

import datasets
import evaluate
import numpy as np
from scipy.stats import pearsonr, spearmanr
from sklearn.metrics import cohen_kappa_score, root_mean_squared_error

_DESCRIPTION = """Pearson r, Spearman rho, RMSE and quadratic weighted kappa (on half points) between
predicted and human scores on the 0-5 scale."""
_CITATION = """@inproceedings{mohler2011learning,
  title={Learning to Grade Short Answer Questions using Semantic Similarity Measures
         and Dependency Graph Alignments},
  author={Mohler, Michael and Bunescu, Razvan and Mihalcea, Rada},
  booktitle={ACL-HLT}, year={2011}}"""
_INPUTS = """predictions: predicted scores; references: human scores."""


def half_points(scores: np.ndarray) -> np.ndarray:
    return np.rint(np.clip(scores, 0, 5) * 2).astype(int)


class ScoreAgreement(evaluate.Metric):
    def _info(self) -> evaluate.MetricInfo:
        score = datasets.Value("float64")
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_INPUTS,
            features=datasets.Features({"predictions": score, "references": score}),
        )

    def _compute(self, predictions: list[float], references: list[float]) -> dict:
        human, predicted = np.asarray(references, float), np.asarray(predictions, float)
        return {
            "pearson": round(float(pearsonr(human, predicted)[0]), 4),
            "spearman": round(float(spearmanr(human, predicted)[0]), 4),
            "rmse": round(float(root_mean_squared_error(human, predicted)), 4),
            "qwk": round(
                float(cohen_kappa_score(half_points(human), half_points(predicted), weights="quadratic")), 4
            ),
            "n": len(human),
        }
