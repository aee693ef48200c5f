"""Split a reference answer into the key points an interviewer checks an answer against.

The rule is deliberately simple and explicit, because the interviewer's training targets
and its evaluation both depend on it: markdown list items are points; otherwise each
sentence is a point. Code blocks are not points, and very short fragments are folded
into the point before them so "e.g. X." never stands alone.
"""

from __future__ import annotations

import re

_CODE_BLOCK = re.compile(r"```.*?```", re.DOTALL)
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+(.*\S)\s*$")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(`])")
_MARKUP = re.compile(r"[*_`]+|\[([^\]]*)\]\([^)]*\)|<[^>]+>")
MIN_WORDS = 3
MAX_POINTS = 8


def plain_text(markdown: str) -> str:
    """Markdown without code blocks, emphasis, links or HTML tags, on one line."""
    text = _CODE_BLOCK.sub(" ", markdown)
    text = _MARKUP.sub(lambda m: m.group(1) or "", text)
    return " ".join(text.split())


def split_key_points(reference: str, max_points: int = MAX_POINTS) -> list[str]:
    """Return up to `max_points` key points of a reference answer, in order."""
    without_code = _CODE_BLOCK.sub("\n", reference)
    items = [m.group(1) for line in without_code.splitlines() if (m := _LIST_ITEM.match(line))]
    pieces = items if len(items) >= 2 else _SENTENCE_END.split(plain_text(without_code))
    points: list[str] = []
    for piece in (plain_text(p) for p in pieces):
        if not piece:
            continue
        if points and len(piece.split()) < MIN_WORDS:
            points[-1] = f"{points[-1]} {piece}"
        else:
            points.append(piece)
    if not points:
        text = plain_text(reference)
        points = [text] if text else []
    return points[:max_points]
