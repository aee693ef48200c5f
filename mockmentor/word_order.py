"""Words said in the order of another text: the leak check (a reply that quotes a missed point)
and the scorer's `reference_order` feature (a keyword list lifted from the reference) both ask
how much of one word list follows another in order."""

from __future__ import annotations

from collections.abc import Sequence


def in_order(needle: Sequence[str], haystack: Sequence[str]) -> int:
    """How many of `needle`'s words appear in `haystack` in the same order (longest common
    subsequence)."""
    previous = [0] * (len(haystack) + 1)
    for word in needle:
        current = [0]
        for j, other in enumerate(haystack):
            current.append(previous[j] + 1 if word == other else max(previous[j + 1], current[j]))
        previous = current
    return previous[-1]
