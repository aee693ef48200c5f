"""The answer scorer's network: build, save, load and predict (fine-tuning is in fitting.py).

Two architectures share one interface (`build`, `predict_raw`):
  cross    one encoder reads "[CLS] reference [SEP] answer" and regresses the score from [CLS];
  siamese  one encoder embeds reference and answer separately; the score is their cosine.
The siamese form keeps the encoder's pretrained similarity prior (it starts as the bi-encoder
baseline), which is what lets it generalise to questions it never saw; freezing the lower
layers protects that prior further and makes each step cheaper. Targets are scores / 5.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from .frozen import freeze_lower, mean_pool

MAX_SCORE = 5.0


class SiameseScorer(nn.Module):
    """cosine(mean-pooled reference, mean-pooled answer) as a score in [-1, 1] (× 5 later)."""

    def __init__(self, encoder: nn.Module) -> None:
        super().__init__()
        self.encoder = encoder

    def embed(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return mean_pool(hidden, attention_mask)

    def forward(
        self,
        ref_input_ids: torch.Tensor,
        ref_attention_mask: torch.Tensor,
        ans_input_ids: torch.Tensor,
        ans_attention_mask: torch.Tensor,
        labels: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        similarity = nn.functional.cosine_similarity(
            self.embed(ref_input_ids, ref_attention_mask), self.embed(ans_input_ids, ans_attention_mask)
        )
        output = {"logits": similarity}
        if labels is not None:
            output["loss"] = nn.functional.mse_loss(similarity, labels.to(similarity.dtype))
        return output


class CrossScorer(nn.Module):
    """The joint encoding of (reference, answer), read at [CLS] -> one regression output."""

    def __init__(self, encoder: nn.Module) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = nn.Linear(encoder.config.hidden_size, 1)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        hidden = self.encoder(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        ).last_hidden_state
        logits = self.head(hidden[:, 0]).squeeze(-1)  # [CLS]: the pair read as one
        output = {"logits": logits}
        if labels is not None:
            output["loss"] = nn.functional.mse_loss(logits, labels.to(logits.dtype))
        return output


def build(encoder_dir: Path, architecture: str, freeze_layers: int = 0) -> tuple[nn.Module, Any]:
    from transformers import AutoModel, AutoTokenizer

    encoder = AutoModel.from_pretrained(encoder_dir)
    if freeze_layers:
        freeze_lower(encoder, freeze_layers)
    model = SiameseScorer(encoder) if architecture == "siamese" else CrossScorer(encoder)
    return model, AutoTokenizer.from_pretrained(encoder_dir)


class PairCollator:
    """Tokenise a batch of rows on the fly, padded to the batch's longest input (or to max_length)."""

    def __init__(self, tokenizer: Any, architecture: str, max_length: int, pad_to_max: bool = False) -> None:
        self.tokenizer, self.architecture, self.max_length = tokenizer, architecture, max_length
        self.padding: bool | str = "max_length" if pad_to_max else True

    def __call__(self, rows: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        references = [row["reference"] for row in rows]
        answers = [row["answer"] for row in rows]
        options = {"padding": self.padding, "truncation": True, "max_length": self.max_length}
        options["return_tensors"] = "pt"
        if self.architecture == "siamese":
            ref, ans = self.tokenizer(references, **options), self.tokenizer(answers, **options)
            batch = {
                "ref_input_ids": ref["input_ids"],
                "ref_attention_mask": ref["attention_mask"],
                "ans_input_ids": ans["input_ids"],
                "ans_attention_mask": ans["attention_mask"],
            }
        else:
            batch = dict(self.tokenizer(references, answers, **(options | {"truncation": "longest_first"})))
        if "label" in rows[0]:
            batch["labels"] = torch.tensor([row["label"] for row in rows], dtype=torch.float32)
        return batch


@torch.inference_mode()
def predict_raw(
    model: nn.Module,
    tokenizer: Any,
    rows: pd.DataFrame,
    architecture: str,
    max_length: int,
    batch_size: int = 64,
    bucket: bool = True,
    pad_to_max: bool = False,
    distinct_texts: bool = True,
) -> np.ndarray:
    """Model outputs (≈ score / 5) for every row.

    `bucket` batches inputs of similar length so padding stays small. For the siamese scorer,
    `distinct_texts` embeds each distinct text once (a reference is shared by every answer to
    its question). The benchmark turns both off to measure what they gain.
    """
    if architecture == "siamese" and distinct_texts:
        texts = pd.unique(pd.concat([rows["reference"], rows["answer"]]))
        vectors = embed_texts(model, tokenizer, list(texts), max_length, batch_size, bucket, pad_to_max)
        index = {text: row for row, text in enumerate(texts)}
        reference = vectors[torch.tensor(rows["reference"].map(index).to_numpy())]
        answer = vectors[torch.tensor(rows["answer"].map(index).to_numpy())]
        return nn.functional.cosine_similarity(reference, answer).numpy()
    collate = PairCollator(tokenizer, architecture, max_length, pad_to_max)
    lengths = (rows["reference"].str.len() + rows["answer"].str.len()).to_numpy()
    order = np.argsort(lengths, kind="stable") if bucket else np.arange(len(rows))
    records = rows[["reference", "answer"]].to_dict("records")
    out = np.empty(len(rows), dtype=np.float32)
    for start in range(0, len(order), batch_size):
        index = order[start : start + batch_size]
        out[index] = model(**collate([records[i] for i in index]))["logits"].float().numpy()
    return out


@torch.inference_mode()
def embed_texts(
    model: SiameseScorer,
    tokenizer: Any,
    texts: list[str],
    max_length: int,
    batch_size: int,
    bucket: bool = True,
    pad_to_max: bool = False,
) -> torch.Tensor:
    """Mean-pooled embeddings of `texts` (float32), in the order given."""
    order = np.argsort([len(text) for text in texts], kind="stable") if bucket else np.arange(len(texts))
    padding = "max_length" if pad_to_max else True
    out = torch.empty(len(texts), model.encoder.config.hidden_size)
    for start in range(0, len(order), batch_size):
        index = order[start : start + batch_size]
        batch = tokenizer(
            [texts[i] for i in index],
            padding=padding,
            truncation=True,
            max_length=max_length,
            return_tensors="pt",
        )
        out[torch.as_tensor(index)] = model.embed(batch["input_ids"], batch["attention_mask"]).float()
    return out


def save(model: nn.Module, tokenizer: Any, folder: Path) -> None:
    """Encoder and tokenizer as a transformers folder; a cross-encoder's head beside it."""
    from safetensors.torch import save_file

    model.encoder.save_pretrained(folder / "encoder")
    tokenizer.save_pretrained(folder / "encoder")
    if isinstance(model, CrossScorer):
        save_file(
            {key: value.contiguous() for key, value in model.head.state_dict().items()},
            str(folder / "head.safetensors"),
        )


def load(folder: Path, architecture: str) -> tuple[nn.Module, Any]:
    from safetensors.torch import load_file

    model, tokenizer = build(folder / "encoder", architecture)
    if isinstance(model, CrossScorer):
        model.head.load_state_dict(load_file(str(folder / "head.safetensors")))
    return model.eval(), tokenizer


def load_encoder(folder: Path) -> tuple[nn.Module, Any]:
    """A transformers encoder folder (pretrained or fine-tuned) and its tokenizer, for inference."""
    from transformers import AutoModel, AutoTokenizer

    return AutoModel.from_pretrained(folder).eval(), AutoTokenizer.from_pretrained(folder)
