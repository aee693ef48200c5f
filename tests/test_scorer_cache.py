"""Fitting from cached lower layers is the same fitting, only faster (on a real fold)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mockmentor.metrics import score_agreement
from mockmentor.model_assets import resolved_path
from mockmentor.scorer.encoders import Encoders
from mockmentor.scorer.fitting import ScorerRecipe, fit_encoder, pair_inputs
from mockmentor.scorer.frozen import lower_states
from mockmentor.scorer.network import load_encoder
from mockmentor.scorer.pairs import load_pairs

pytestmark = pytest.mark.slow  # fits the encoder twice


def test_cached_and_uncached_fits_give_the_same_scores(prepared_data: Path, tmp_path: Path) -> None:
    pairs = load_pairs(prepared_data / "processed", prepared_data / "splits")
    train = pairs[(pairs["fold"] != 0) & (pairs["split"] == "train")].sample(240, random_state=0)
    held = pairs[pairs["fold"] == 0]
    recipe = ScorerRecipe(
        architecture="siamese", max_length=64, learning_rate=1e-4, epochs=1, batch_size=16,
        freeze_layers=5, max_steps=10,
    )  # fmt: skip
    encoder_dir = resolved_path("scorer-encoder")
    pretrained, tokenizer = load_encoder(encoder_dir)
    states = lower_states(pretrained, tokenizer, pair_inputs(train, "siamese"), 5, 64)

    uncached, _, uncached_loss = fit_encoder(train, recipe, encoder_dir, tmp_path / "a")
    cached, _, cached_loss = fit_encoder(train, recipe, encoder_dir, tmp_path / "b", states)
    assert [e["loss"] for e in cached_loss] == pytest.approx([e["loss"] for e in uncached_loss], abs=1e-5)

    encoders = Encoders(pretrained, tokenizer, 5, 64)
    encoders.add("uncached", uncached.encoder)
    encoders.add("cached", cached.encoder)
    a, _ = encoders.cosines(held, "uncached")
    b, _ = encoders.cosines(held, "cached")
    assert np.max(np.abs(a["bi_cosine"] - b["bi_cosine"])) < 1e-4
    human = held["score"].to_numpy()
    same = pd.DataFrame(
        [score_agreement(human, a["bi_cosine"] * 5), score_agreement(human, b["bi_cosine"] * 5)]
    )
    same = same.drop(columns="coverage80")  # None: a cosine has no interval
    assert (same.round(3).nunique() == 1).all(), same  # the fold's metrics agree to three decimals
