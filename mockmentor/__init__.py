"""MockMentor: a self-hosted AI mock-interview system.

The code lives in four folders that install as sub-packages: `mockmentor.data` (data
preparation), `mockmentor.training`, `mockmentor.evaluation` and `mockmentor.serving`.
This package holds what they share: configuration, model assets, tracking and the CLI.
"""

import os
from pathlib import Path

__version__ = "0.1.0"

# The repository root: configs, data and DVC outputs are found relative to it. An installed
# copy (the wheel inside a Bento) has no repository around it and names its own root.
REPO_ROOT = Path(os.environ.get("MOCKMENTOR_HOME") or Path(__file__).resolve().parent.parent)
