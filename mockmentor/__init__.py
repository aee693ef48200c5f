"""MockMentor: a self-hosted AI mock-interview system.

Layers, imports pointing down only (tests/test_architecture.py keeps it so):
  mockmentor/cli.py                  the one command line; calls the stages and the service
  data/ training/ evaluation/        DVC stages (mockmentor.data, .training, .evaluation)
  serving/                           the API, sessions and the page (mockmentor.serving)
  mockmentor/scorer, interviewer,    one package per model: inference, contract, loading,
             speech                  fitting helpers
  mockmentor/*.py, store/, metrics/  the shared core: config, settings, records, model assets,
                                     registry, tracking, the interview database, metrics
"""

import os
from pathlib import Path

__version__ = "0.1.0"

# The repository root: configs, data and DVC outputs are found relative to it. An installed
# copy (the wheel inside a Bento) has no repository around it and names its own root.
REPO_ROOT = Path(os.environ.get("MOCKMENTOR_HOME") or Path(__file__).resolve().parent.parent)

# Offline and quiet by default, in every process that imports the project (stages, the CLI, the
# service, tests) and in the processes they start. Set a variable to override it.
for _name, _value in {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    "BENTOML_DO_NOT_TRACK": "true",
}.items():
    os.environ.setdefault(_name, _value)
