"""The content terms of a text: what two texts must share to be about the same thing.

One rule for two places that must agree. `build_robustness` draws "another question's answer"
only from questions whose reference shares no term with this question or its reference (the
course asks some questions twice, and "push and pop" answers both). The scorer's
`other_reference_gap` compares an answer only with those same references, so an answer that is
also right for a twin question is not taken for an answer to another one.
"""

from __future__ import annotations

import re

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

_WORD = re.compile(r"[A-Za-z][A-Za-z'-]+")


def terms(text: str) -> set[str]:
    """The text's content words, crudely singular ("pointers" and "pointer" are one term)."""
    return {
        word.lower().rstrip("s")
        for word in _WORD.findall(text)
        if word.lower() not in ENGLISH_STOP_WORDS and len(word) > 2
    }
