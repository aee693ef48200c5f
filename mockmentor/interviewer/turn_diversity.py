"""How template-like a set of interviewer turns reads (the demonstrations, or a model's replies)."""

from __future__ import annotations

from collections import Counter

from .leak import words


def diversity(texts: list[str], openings: int = 10) -> dict:
    """How template-like a set of turns reads: distinct 3-grams per token (higher is more varied)
    and the sentence openings (first three words) repeated most often."""
    tokens = [words(t) for t in texts]
    trigrams = {tuple(t[i : i + 3]) for t in tokens for i in range(len(t) - 2)}
    total = sum(len(t) for t in tokens)
    starts = Counter(
        " ".join(words(sentence)[:3])
        for t in texts
        for sentence in t.replace("?", "?|").replace(". ", ".|").split("|")
        if len(words(sentence)) >= 3
    )
    return {
        "turns": len(texts),
        "tokens": total,
        "distinct_trigrams_per_token": round(len(trigrams) / max(total, 1), 3),
        "top_openings": [{"opening": k, "count": n} for k, n in starts.most_common(openings)],
    }
