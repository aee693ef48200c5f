"""One thread for the scorer's numpy and scikit-learn work between torch's.

numpy's OpenBLAS and scikit-learn's OpenMP are not torch's thread pools. After each call their
idle threads spin, and on 2 cores they spin against torch's encoder on the next batch: the
features and the boosted trees with their default threads left the encoder ~10 % slower and
the trees 10 % of a batch's time (bench/scorer_throughput.py). Their work is small, row by row,
so one thread does it as fast, and the results are the same.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from functools import cache

from threadpoolctl import ThreadpoolController


@cache
def _controller() -> ThreadpoolController:
    return ThreadpoolController()  # the pools loaded by now: torch's, numpy's, scikit-learn's


def one_thread() -> AbstractContextManager[object]:
    """A context in which every native thread pool runs one thread."""
    return _controller().limit(limits=1)
