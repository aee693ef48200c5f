"""What the stacked scorer sees of a (question, reference, answer): the features, by name.

  bi_cosine            the fine-tuned bi-encoder's cosine, reference vs answer (best window)
  frozen_cosine        the pretrained encoder's cosine, reference vs answer (best window)
  question_cosine      the pretrained encoder's cosine, question vs answer: a restated question
                       is close to the question, an answer is close to the reference
  reference_question   the pretrained cosine, reference vs question (how much the question
                       already gives away)
  tfidf_cosine         TF-IDF cosine, reference vs answer (vocabulary fitted on training texts)
  tfidf_question       TF-IDF cosine, question vs answer
  reference_recall     share of the reference's content words the answer uses
  reference_precision  share of the answer's content words the reference uses
  new_words            log(1 + content words of the answer that are not in the question)
  question_share       share of the answer's content words taken from the question
  filler_share         share of the answer's words that are fillers or function words
  stop_share           share of its words other than fillers that are function words: a bare
                       keyword list has almost none
  reference_order      share of the answer's content words that follow the reference's content
                       words in the reference's order (their longest common subsequence): a
                       list lifted from the reference keeps its order, a sentence in the
                       candidate's own words rarely does
  content_run          log(1 + the longest run of content words with no function word or
                       punctuation between them, fillers skipped): "block inside statement
                       execute" is one run of four, "push and pop" two runs of one
  question_rank        share of all known questions (the course's and the banks') that the
                       answer is closer to than to its own question: an answer to another
                       question fits that one better
  other_question_gap   cosine to the closest other question less cosine to its own
  other_reference_gap  cosine to the closest other question's reference answer less
                       frozen_cosine: an answer to another known question is that one's answer.
                       Only references that share no content term with this question or its
                       reference count (content_terms.py, the rule `build_robustness` draws
                       other questions' answers by): "pop and push" is 8.2's reference and a
                       fair answer to 8.7, about the same stack
  non_answer_similarity  the pretrained cosine to the closest of a few ways of saying "I have
                       no answer" (NON_ANSWER_ANCHORS): a hedge is near them in any wording,
                       a short real answer ("Refining and coding") is not
  beyond_recall        share of what the reference adds to the question that the answer says
                       too: content words, numbers and the few function words that carry a
                       definition ("itself", "once", "one"), each cut to four letters so "sorted"
                       is the question's "sort". For merge sort's base case "array of length 1"
                       says "array" and "1", the list "array sorted" only "array", though its
                       reference_recall is higher. The off-topic detector does not read it
                       (stacker.py)
  answer_words         log(1 + words in the answer)
  reference_words      log(1 + words in the reference)
  knn_score            similarity-weighted human score of the most similar graded answers to
                       the same question (NaN when the question has none: an unseen question)
  knn_top              similarity to the most similar of them
  knn_full             similarity to the most similar full-marks answer among them

What they cannot see is written in the README ("What the scorer cannot see").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

from mockmentor.content_terms import terms
from mockmentor.word_order import in_order

FEATURES = [
    "bi_cosine", "frozen_cosine", "question_cosine", "reference_question", "tfidf_cosine",
    "tfidf_question", "reference_recall", "reference_precision", "new_words", "question_share",
    "filler_share", "stop_share", "reference_order", "content_run", "question_rank",
    "other_question_gap", "other_reference_gap",
    "non_answer_similarity", "beyond_recall",
    "answer_words", "reference_words", "knn_score", "knn_top", "knn_full",
]  # fmt: skip
KNN_FEATURES = ["knn_score", "knn_top", "knn_full"]
FIT_FEATURES = ["question_rank", "other_question_gap", "other_reference_gap", "non_answer_similarity"]
FULL_MARKS = 4.5
_WORD = re.compile(r"[a-z0-9]+")
_CLAUSE = re.compile(r"[^,;:.!?()\[\]{}<>=/\\|\u2013\u2014-]+")  # a stretch with no punctuation in it
FILLERS = {
    "um",
    "uh",
    "erm",
    "er",
    "hmm",
    "like",
    "well",
    "so",
    "basically",
    "actually",
    "okay",
    "yeah",
    "right",
}

# Written by the project for the non_answer_similarity feature. None of them is one of the
# robustness set's non-answers (data/raw/robustness/phrases.yaml), so the held-out non-answers
# the evaluation reports are other wordings, not these sentences.
NON_ANSWER_ANCHORS = [
    "I do not know the answer.",
    "I have no idea what this is.",
    "I'm not sure about that one.",
    "Sorry, I can't answer this.",
    "I forgot what that means.",
    "Let's move on to the next one.",
    "We never learned this.",
    "I can't think of anything to say.",
    "Can you tell me the answer?",
    "I don't remember, sorry.",
    "I would just be guessing.",
    "Nothing comes to mind.",
]


def content_words(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if w not in ENGLISH_STOP_WORDS and len(w) > 2]


# Function words that carry the point of a definition: "a function that calls itself", "only once".
_KEPT = {
    "itself", "themselves", "once", "only", "one", "no", "not", "none", "never", "every", "each",
    "all", "first", "last",
}  # fmt: skip
_TOKEN = re.compile(r"[a-z]+|[0-9]+|\\0")


def _keys(text: str) -> set[str]:
    """Content words, numbers and the words of _KEPT, each cut to four letters ("sorted" is "sort")."""
    return {
        w[:4]
        for w in _TOKEN.findall(text.lower())
        if w in _KEPT or w.isdigit() or w == "\\0" or (w not in ENGLISH_STOP_WORDS and len(w) > 2)
    }


def beyond_question_recall(question: str, reference: str, answer: str) -> float:
    """Share of what the reference adds to the question that the answer says too."""
    beyond = _keys(reference) - _keys(question)
    return len(beyond & _keys(answer)) / len(beyond) if beyond else 1.0


def longest_content_run(answer: str) -> int:
    """The most content words in a row, with no function word or punctuation between them."""
    best = 0
    for clause in _CLAUSE.findall(answer.lower()):
        run = 0
        for word in _WORD.findall(clause):
            if word in FILLERS:
                continue
            run = run + 1 if word not in ENGLISH_STOP_WORDS and len(word) > 2 else 0
            best = max(best, run)
    return best


def lexical(question: str, reference: str, answer: str) -> dict[str, float]:
    """The word-level features of one row."""
    stated = content_words(reference)
    ref, ans, asked = set(stated), content_words(answer), set(content_words(question))
    said = set(ans)
    words = _WORD.findall(answer.lower())
    spoken = [w for w in words if w not in FILLERS]
    function = [w for w in spoken if w in ENGLISH_STOP_WORDS]
    meant = [w for w in ans if w not in FILLERS]
    return {
        "reference_recall": len(ref & said) / max(len(ref), 1),
        "reference_precision": len(ref & said) / max(len(said), 1),
        "new_words": float(np.log1p(len(said - asked))),
        "question_share": len(said & asked) / max(len(said), 1),
        "filler_share": (len(words) - len(spoken) + len(function)) / max(len(words), 1),
        "stop_share": len(function) / max(len(spoken), 1),
        "reference_order": in_order(meant, stated) / max(len(meant), 1),
        "content_run": float(np.log1p(longest_content_run(answer))),
        "beyond_recall": beyond_question_recall(question, reference, answer),
        "answer_words": float(np.log1p(len(answer.split()))),
        "reference_words": float(np.log1p(len(reference.split()))),
    }


@dataclass
class RowVectors:
    """The pretrained unit vectors of each row's answer and question, by row id."""

    answers: pd.DataFrame
    questions: pd.DataFrame

    def of(self, index: pd.Index) -> tuple[np.ndarray, np.ndarray]:
        return self.answers.loc[index].to_numpy(), self.questions.loc[index].to_numpy()


@dataclass
class QuestionSpace:
    """Every question the scorer may be asked about with its reference answer, and the ways of
    not answering any (NON_ANSWER_ANCHORS), as unit vectors: where an answer fits."""

    texts: list[str]
    vectors: np.ndarray
    references: np.ndarray  # each question's reference answer (its first window)
    non_answers: np.ndarray
    reference_texts: list[str]  # each question's reference answer, as written

    def __post_init__(self) -> None:
        # Which known references use each content term: the ones an answer's own question shares.
        self._using: dict[str, list[int]] = {}
        for index, text in enumerate(self.reference_texts):
            for term in terms(text):
                self._using.setdefault(term, []).append(index)

    def sharing(self, question: str, reference: str) -> list[int]:
        """The known references that share a content term with this question or its reference."""
        return sorted({i for term in terms(question) | terms(reference) for i in self._using.get(term, [])})

    def fit(
        self,
        questions: Sequence[str],
        references: Sequence[str],
        question_vectors: np.ndarray,
        answer_vectors: np.ndarray,
        reference_similarity: np.ndarray,
    ) -> np.ndarray:
        """[question_rank, other_question_gap, other_reference_gap, non_answer_similarity] of each
        answer against its own question (which need not be one of the known questions) and its
        own reference (`reference_similarity`: the answer's cosine to it)."""
        own = np.sum(answer_vectors * question_vectors, axis=1)
        position = {text: i for i, text in enumerate(self.texts)}
        mine = np.array([position.get(q, -1) for q in questions])
        similarity = answer_vectors @ self.vectors.T
        other_references = answer_vectors @ self.references.T
        known = mine >= 0  # the own question and its reference are not "another" one
        similarity[known, mine[known]] = -1.0
        other_references[known, mine[known]] = -1.0
        for row, (question, reference) in enumerate(zip(questions, references, strict=True)):
            other_references[row, self.sharing(question, reference)] = -1.0  # not another's answer
        rank = (similarity > own[:, None] + 1e-9).mean(axis=1)
        hedge = (answer_vectors @ self.non_answers.T).max(axis=1)
        return np.column_stack(
            [rank, similarity.max(axis=1) - own, other_references.max(axis=1) - reference_similarity, hedge]
        )


def fit_tfidf(texts: Sequence[str]) -> TfidfVectorizer:
    return TfidfVectorizer(sublinear_tf=True).fit(pd.unique(pd.Series(list(texts))))


def tfidf_cosine(vectorizer: TfidfVectorizer, left: Sequence[str], right: Sequence[str]) -> np.ndarray:
    a, b = vectorizer.transform(list(left)), vectorizer.transform(list(right))  # rows are L2-normalised
    return np.asarray(a.multiply(b).sum(axis=1)).ravel()


@dataclass
class GradedAnswers:
    """The human-graded answers of each question, as the kNN features see them."""

    vectors: dict[str, np.ndarray] = field(default_factory=dict)  # question -> [answers, dim], unit length
    scores: dict[str, np.ndarray] = field(default_factory=dict)
    texts: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def build(cls, rows: pd.DataFrame, vectors: np.ndarray) -> GradedAnswers:
        """`rows` (question_id, answer, score) and each answer's unit vector, in the same order."""
        graded = cls()
        for question, index in rows.groupby("question_id").indices.items():
            graded.vectors[question] = vectors[index]
            graded.scores[question] = rows["score"].to_numpy()[index]
            graded.texts[question] = rows["answer"].to_numpy()[index].tolist()
        return graded

    def features(
        self, question: str, answer: str, vector: np.ndarray, k: int = 5
    ) -> tuple[float, float, float]:
        """(knn_score, knn_top, knn_full) for one answer; the answer itself never counts."""
        if question not in self.vectors:
            return (np.nan, np.nan, np.nan)
        similarity = self.vectors[question] @ vector
        keep = np.array([text != answer for text in self.texts[question]])
        if not keep.any():
            return (np.nan, np.nan, np.nan)
        similarity, scores = similarity[keep], self.scores[question][keep]
        nearest = np.argsort(-similarity, kind="stable")[:k]
        weights = np.exp(10 * similarity[nearest])
        full = similarity[scores >= FULL_MARKS]
        return (
            float(np.sum(weights * scores[nearest]) / np.sum(weights)),
            float(similarity[nearest[0]]),
            float(full.max()) if len(full) else np.nan,
        )


def feature_frame(
    rows: pd.DataFrame,
    cosines: pd.DataFrame,
    vectorizer: TfidfVectorizer,
    graded: GradedAnswers | None,
    vectors: tuple[np.ndarray, np.ndarray],
    questions: QuestionSpace,
) -> pd.DataFrame:
    """Every feature for `rows` (question, reference, answer[, question_id]).

    `cosines` holds the encoder features (bi_cosine, frozen_cosine, question_cosine,
    reference_question) row by row; `vectors` the answers' and the questions' pretrained unit
    vectors (kNN, question fit); with `graded` None every kNN feature is NaN (an unseen question).
    """
    answer_vectors, question_vectors = vectors
    frame = cosines[["bi_cosine", "frozen_cosine", "question_cosine", "reference_question"]].copy()
    frame.index = rows.index
    frame["tfidf_cosine"] = tfidf_cosine(vectorizer, rows["reference"], rows["answer"])
    frame["tfidf_question"] = tfidf_cosine(vectorizer, rows["question"], rows["answer"])
    words = pd.DataFrame(
        [
            lexical(q, r, a)
            for q, r, a in zip(rows["question"], rows["reference"], rows["answer"], strict=True)
        ],
        index=rows.index,
    )
    frame = frame.join(words)
    frame[FIT_FEATURES] = questions.fit(
        list(rows["question"]),
        list(rows["reference"]),
        question_vectors,
        answer_vectors,
        frame["frozen_cosine"].to_numpy(),
    )
    knn = [
        graded.features(q, a, v) if graded is not None else (np.nan, np.nan, np.nan)
        for q, a, v in zip(rows["question_id"], rows["answer"], answer_vectors, strict=True)
    ]
    frame[KNN_FEATURES] = np.asarray(knn, dtype=float).reshape(len(rows), 3)
    return frame[FEATURES]
