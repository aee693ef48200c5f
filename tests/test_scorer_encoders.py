"""The encoder features a service computes: the cached layers alone, and kept question vectors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from mockmentor.model_assets import resolved_path
from mockmentor.scorer.encoders import Encoders
from mockmentor.scorer.frozen import lower_states
from mockmentor.scorer.network import load_encoder
from mockmentor.scorer.pairs import load_pairs


def test_lower_states_equal_the_full_forward_pass_at_that_layer(prepared_data: Path) -> None:
    """Only the cached layers run, each batch padded to its own longest input: the states of
    every real token are those the whole encoder computes with padding to the recipe's length."""
    pairs = load_pairs(prepared_data / "processed", prepared_data / "splits")
    texts = [*pairs["answer"].iloc[::97].head(24), "Yes."]  # short to long, in batches of 16
    encoder, tokenizer = load_encoder(resolved_path("scorer-encoder"))
    states = lower_states(encoder, tokenizer, texts, 5, 64)
    encoded = tokenizer(texts, padding="max_length", truncation=True, max_length=64, return_tensors="pt")
    with torch.inference_mode():
        full = encoder(**encoded, output_hidden_states=True).hidden_states[5]
    for row, text in enumerate(texts):
        real = encoded["attention_mask"][row].bool()
        mine = states.hidden[states.index[text]]
        assert torch.equal(states.mask[states.index[text]], encoded["attention_mask"][row])
        assert torch.allclose(mine[real], full[row][real], atol=1e-4), text


def test_a_service_keeps_question_and_reference_vectors_but_no_answer(prepared_data: Path) -> None:
    pairs = load_pairs(prepared_data / "processed", prepared_data / "splits")
    rows = pairs.groupby("question_id").head(3).head(30)
    encoder_dir = resolved_path("scorer-encoder")
    pretrained, tokenizer = load_encoder(encoder_dir)
    top, _ = load_encoder(encoder_dir)  # a second copy: the "tuned" encoder's own top layer
    service = Encoders(pretrained, tokenizer, 5, 64, keep=False)
    service.add("tuned", top)
    first, _ = service.cosines(rows, "tuned")
    kept = {text for _, text in service._vectors}
    prompts = set(rows["question"]) | set(rows["reference"])
    assert set(rows["reference"]) <= kept <= prompts  # answers are forgotten after the call
    again, _ = service.cosines(rows, "tuned")  # questions and references from the kept vectors
    fitting = Encoders(pretrained, tokenizer, 5, 64, keep=True)
    fitting.add("tuned", top)
    expected, _ = fitting.cosines(rows, "tuned")
    np.testing.assert_allclose(first.to_numpy(), expected.to_numpy(), atol=1e-5)
    np.testing.assert_allclose(again.to_numpy(), expected.to_numpy(), atol=1e-5)
