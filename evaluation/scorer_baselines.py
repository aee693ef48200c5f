"""The two similarity baselines every learned scorer must beat.

Both map a similarity between the reference answer and the candidate's answer to the 0–5
scale with isotonic regression fitted on the training rows only: TF-IDF cosine (lexical
overlap) and the frozen MiniLM bi-encoder's cosine (the plain "semantic similarity" approach).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.isotonic import IsotonicRegression


def paired_cosine(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    left = left / np.maximum(np.linalg.norm(left, axis=1, keepdims=True), 1e-12)
    right = right / np.maximum(np.linalg.norm(right, axis=1, keepdims=True), 1e-12)
    return np.sum(left * right, axis=1)


def tfidf_similarity(frame: pd.DataFrame, fit_on: pd.DataFrame) -> np.ndarray:
    vectorizer = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=1)
    vectorizer.fit(pd.concat([fit_on["reference"], fit_on["answer"]]).drop_duplicates())
    reference = vectorizer.transform(frame["reference"]).toarray()
    answer = vectorizer.transform(frame["answer"]).toarray()
    return paired_cosine(reference, answer)


def isotonic_scores(
    similarity_train: np.ndarray, scores_train: np.ndarray, similarity: np.ndarray
) -> np.ndarray:
    """Similarity -> 0–5 score by a monotone map fitted on training rows."""
    mapping = IsotonicRegression(y_min=0.0, y_max=5.0, out_of_bounds="clip")
    mapping.fit(similarity_train, scores_train)
    return mapping.predict(similarity)
