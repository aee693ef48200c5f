"""The interviewer as an MLflow pyfunc model, so the registry can serve and load it.

`mlflow.pyfunc.load_model("models:/interviewer@champion").predict(frame)` takes a frame
with a `messages` column (a chat as a list of {role, content}, or that list as JSON) and
returns a `reply` column, decoded greedily by the llama.cpp path.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import mlflow.pyfunc
import pandas as pd


class InterviewerPyfunc(mlflow.pyfunc.PythonModel):
    def load_context(self, context: Any) -> None:
        from .decoding import Interviewer, InterviewerFiles

        self.interviewer = Interviewer(InterviewerFiles.tuned(Path(context.artifacts["model"])))

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:
        chats = [json.loads(m) if isinstance(m, str) else list(m) for m in model_input["messages"]]
        return pd.DataFrame({"reply": [self.interviewer.reply(chat) for chat in chats]})
