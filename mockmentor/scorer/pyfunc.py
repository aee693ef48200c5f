"""The answer scorer as an MLflow pyfunc model, so the registry can serve and load it.

`mlflow.pyfunc.load_model("models:/answer-scorer@champion").predict(frame)` takes a frame with
`question`, `reference` and `answer` columns (and optionally `question_id`) and returns score,
low, high and off_topic columns.
"""

from __future__ import annotations

from typing import Any

import mlflow.pyfunc
import pandas as pd


class ScorerPyfunc(mlflow.pyfunc.PythonModel):
    def load_context(self, context: Any) -> None:
        from .scorer import AnswerScorer

        self.scorer = AnswerScorer(context.artifacts["model"])

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:
        columns = [c for c in ("question_id", "question", "reference", "answer") if c in model_input]
        results = self.scorer.score(model_input[columns].to_dict("records"))
        return pd.DataFrame([result.model_dump(exclude={"evidence"}) for result in results])
