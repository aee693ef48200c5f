"""A GGUF is run by llama.cpp only once its preflight (preflight.py) proved it runs on this CPU."""

from __future__ import annotations

import logging
from pathlib import Path

from mockmentor.model_assets import gguf_path

from .preflight import check, fallback_message


def proven_gguf(name: str, prompt_tokens: int) -> Path | None:
    """The GGUF of configs/models.yaml's `name` if llama.cpp passed its preflight on it here,
    else None: the caller runs the transformers folder instead (the reason is logged)."""
    gguf = gguf_path(name)
    verdict = check("llama.cpp", gguf, prompt_tokens)
    if not verdict.ok:
        logging.getLogger(__name__).error("%s", fallback_message(verdict, "transformers"))
    return gguf if verdict.ok else None
