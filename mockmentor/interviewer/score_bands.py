"""The graders' score bands that an interviewer's verdict is held against.

A mean grade of at least `full_marks` is a complete answer, at most `wrong` an off-track one,
anything between a partial one. `build_dialogues` compares the writers' verdicts with these
bands, and `evaluate_interviewer` the plan's verdicts.
"""

from __future__ import annotations

BANDS = ("complete", "partial", "off_track")


def band(score: float, full_marks: float, wrong: float) -> str:
    return "complete" if score >= full_marks else "off_track" if score <= wrong else "partial"
