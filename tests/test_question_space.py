"""Where an answer fits among the known questions: the question-fit features on real questions
and the real pretrained encoder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mockmentor.content_terms import terms
from mockmentor.model_assets import resolved_path
from mockmentor.scorer.encoders import Encoders
from mockmentor.scorer.features import FIT_FEATURES
from mockmentor.scorer.network import load_encoder
from mockmentor.scorer.pairs import all_questions
from mockmentor.scorer.stacked import question_space


def fit_features(encoders: Encoders, space, question: str, reference: str, answer: str) -> pd.Series:
    answer_vector, question_vector = encoders.vectors([answer]), encoders.vectors([question])
    reference_vector = encoders.vectors([encoders.windows(reference)[0]])
    own = float(answer_vector[0] @ reference_vector[0])
    values = space.fit([question], [reference], question_vector, answer_vector, np.array([own]))
    return pd.Series(values[0], index=FIT_FEATURES)


def test_a_right_answer_that_is_also_a_twin_questions_reference_is_not_anothers(
    prepared_data: Path,
) -> None:
    """Mohler 8.7 (find an element on a stack) shares its terms with 8.2, whose reference is
    "push and pop": the graders gave "pop and push" 3 on 8.7, so it must not look like an answer
    to 8.2. Another question's reference that shares no term with 8.7 still counts as one."""
    known = all_questions(prepared_data / "processed")
    questions = pd.read_parquet(prepared_data / "processed/questions.parquet").set_index("id")
    pretrained, tokenizer = load_encoder(resolved_path("scorer-encoder"))
    encoders = Encoders(pretrained, tokenizer, 5, 64)
    space = question_space(encoders, known)
    find, push_pop = questions.loc["mohler-8.7"], questions.loc["mohler-8.2"]
    asked = terms(find["text"]) | terms(find["reference_answer"])
    assert terms(push_pop["reference_answer"]) & asked  # the premise: the two share terms

    twin = fit_features(encoders, space, find["text"], find["reference_answer"], "pop and push")
    assert twin["other_reference_gap"] < 0.3, twin  # was 0.70 comparing with every reference

    unrelated = known[known["reference"].map(lambda r: not terms(r) & asked)].iloc[0]["reference"]
    other = fit_features(encoders, space, find["text"], find["reference_answer"], unrelated)
    assert other["other_reference_gap"] > 0.5, other  # it is that other question's answer
