"""The encoder's frozen lower layers, run once per input and kept.

Only the top of the encoder is fine-tuned, so the hidden states after the frozen layers never
change: they are computed once per distinct input (a text for the bi-encoder, a pair for the
cross-encoder) by the cached layers alone, each batch of similar lengths padded to its longest
input and stored padded to the recipe's length, and every epoch, fold and scoring call runs
only the layers above them, on a batch trimmed to its longest input. That is what makes
fitting one scorer per unseen-question fold cheap. Frozen layers stay in eval mode (no
dropout), so a cached state equals what a full forward pass computes;
tests/test_scorer_cache.py compares the two on a real fold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

Input = str | tuple[str, str]


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)


def freeze_lower(encoder: nn.Module, layers: int) -> None:
    """Embeddings and the lowest `layers` layers: no gradients, and no dropout ever."""
    frozen = [encoder.embeddings, *encoder.encoder.layer[:layers]]
    for module in frozen:
        module.requires_grad_(False)
        module.eval()
    original_train = encoder.train

    def train(mode: bool = True) -> nn.Module:
        original_train(mode)
        for module in frozen:
            module.eval()
        return encoder

    encoder.train = train  # type: ignore[method-assign]


def run_top(
    encoder: nn.Module, hidden: torch.Tensor, mask: torch.Tensor, from_layer: int, to_layer: int | None = None
) -> torch.Tensor:
    """Layers `from_layer` up to `to_layer` (default: the top), on states that the layers below
    produced (the attention mask is built exactly as the encoder's own forward pass builds it)."""
    from transformers.masking_utils import create_bidirectional_mask

    extended = create_bidirectional_mask(config=encoder.config, inputs_embeds=hidden, attention_mask=mask)
    for layer in encoder.encoder.layer[from_layer:to_layer]:
        output = layer(hidden, extended)
        hidden = output[0] if isinstance(output, tuple) else output
    return hidden


@dataclass
class LowerStates:
    """Hidden states after the frozen layers for a set of inputs, and where each one is."""

    hidden: torch.Tensor  # [inputs, max_length, hidden size]
    mask: torch.Tensor  # [inputs, max_length]
    layers: int  # how many encoder layers produced them
    index: dict[Input, int]

    def on(self, rows: torch.Tensor, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """The states of `rows`, moved to the model's device (the cache stays in main memory)."""
        rows = rows.cpu()
        mask = self.mask[rows]
        width = max(int(mask.sum(1).max()), 1) if len(rows) else 1  # no layer reads past the longest
        return self.hidden[rows, :width].to(device), mask[:, :width].to(device)

    def rows(self, inputs: Sequence[Input]) -> torch.Tensor:
        return torch.tensor([self.index[item] for item in inputs], dtype=torch.long)

    def __len__(self) -> int:
        return len(self.index)


@torch.inference_mode()
def lower_states(
    encoder: nn.Module,
    tokenizer: Any,
    inputs: Sequence[Input],
    layers: int,
    max_length: int,
    batch_size: int = 16,
) -> LowerStates:
    """Run embeddings + the lowest `layers` layers once for each distinct input."""
    distinct = list(dict.fromkeys(inputs))
    hidden = torch.zeros(len(distinct), max_length, encoder.config.hidden_size)
    mask = torch.zeros(len(distinct), max_length, dtype=torch.long)
    was_training = encoder.training
    encoder.eval()
    order = np.argsort([len(str(item)) for item in distinct], kind="stable")  # little padding waste
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        batch = [distinct[i] for i in rows]
        if isinstance(batch[0], tuple):
            encoded = tokenizer(
                [a for a, _ in batch], [b for _, b in batch], padding="longest",
                truncation="longest_first", max_length=max_length, return_tensors="pt",
            )  # fmt: skip
        else:
            encoded = tokenizer(
                list(batch), padding="longest", truncation=True, max_length=max_length, return_tensors="pt"
            )
        # Only the layers that are cached, and each batch padded to its longest input (the batches
        # are sorted by length): a padded position is masked out of every real one.
        embedded = encoder.embeddings(
            input_ids=encoded["input_ids"], token_type_ids=encoded.get("token_type_ids")
        )
        states = run_top(encoder, embedded, encoded["attention_mask"], 0, layers)
        width = states.shape[1]
        hidden[torch.as_tensor(rows), :width] = states.float()
        mask[torch.as_tensor(rows), :width] = encoded["attention_mask"]
    encoder.train(was_training)
    return LowerStates(hidden, mask, layers, {item: i for i, item in enumerate(distinct)})


class CachedSiamese(nn.Module):
    """The bi-encoder's top layers on cached states: cosine(reference, answer), regressed on score/5."""

    def __init__(self, encoder: nn.Module, states: LowerStates) -> None:
        super().__init__()
        self.encoder, self.states = encoder, states

    def embed(self, rows: torch.Tensor) -> torch.Tensor:
        hidden, mask = self.states.on(rows, self.encoder.device)
        return mean_pool(run_top(self.encoder, hidden, mask, self.states.layers), mask)

    def forward(
        self, reference: torch.Tensor, answer: torch.Tensor, labels: torch.Tensor | None = None
    ) -> dict[str, torch.Tensor]:
        similarity = nn.functional.cosine_similarity(self.embed(reference), self.embed(answer))
        output = {"logits": similarity}
        if labels is not None:
            output["loss"] = nn.functional.mse_loss(similarity, labels.to(similarity.dtype))
        return output


class CachedCross(nn.Module):
    """The cross-encoder's top layers and head on cached pair states, regressed on score/5."""

    def __init__(self, encoder: nn.Module, head: nn.Linear, states: LowerStates) -> None:
        super().__init__()
        self.encoder, self.head, self.states = encoder, head, states

    def forward(self, pair: torch.Tensor, labels: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        hidden, mask = self.states.on(pair, self.encoder.device)
        top = run_top(self.encoder, hidden, mask, self.states.layers)
        logits = self.head(top[:, 0]).squeeze(-1)  # [CLS], as CrossScorer reads the pair
        output = {"logits": logits}
        if labels is not None:
            output["loss"] = nn.functional.mse_loss(logits, labels.to(logits.dtype))
        return output
