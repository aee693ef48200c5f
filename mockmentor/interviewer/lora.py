"""LoRA fine-tuning of the interviewer LLM with the transformers Trainer and peft.

Each example is the model's own chat template applied to the prompt messages, followed by
the target turn and the end-of-turn token. Labels are -100 on the prompt, so the loss
(and the perplexity the evaluation reports) is on the interviewer's tokens only.
"""

from __future__ import annotations

import json
from dataclasses import field
from pathlib import Path
from typing import Any

import torch
from pydantic.dataclasses import dataclass

from mockmentor.config import STRICT

from .decoding import end_of_turn, load_tokenizer, prompt_ids

IGNORE = -100


@dataclass(config=STRICT)
class LoraRecipe:
    rank: int = field(default=16, metadata={"help": "LoRA rank r"})
    alpha: int = field(default=32, metadata={"help": "LoRA alpha (scale = alpha / r)"})
    dropout: float = field(default=0.05, metadata={"help": "dropout on the LoRA input"})
    target_modules: list[str] = field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
        metadata={"help": "linear layers that get an adapter"},
    )
    learning_rate: float = field(default=3e-4, metadata={"help": "peak learning rate (cosine decay)"})
    warmup: float = field(default=0.05, metadata={"help": "warm-up as a share of the steps"})
    epochs: float = field(default=1.0, metadata={"help": "passes over the training examples"})
    max_steps: int = field(default=-1, metadata={"help": "stop after this many steps (-1: use epochs)"})
    batch_size: int = field(default=4, metadata={"help": "examples per optimiser step"})
    max_length: int = field(default=320, metadata={"help": "longer examples are left out, not cut"})
    max_examples: int = field(default=0, metadata={"help": "use the first N training examples (0: all)"})
    logging_steps: int = field(default=10, metadata={"help": "log the training loss every N steps"})
    seed: int = field(default=0, metadata={"help": "seed for adapters, dropout and data order"})

    def __post_init__(self) -> None:
        if self.rank < 1 or self.alpha < 1:
            raise ValueError("rank and alpha must be positive")
        if not 0 < self.learning_rate < 1:
            raise ValueError("learning_rate must be within (0, 1)")
        if self.max_steps == 0 or (self.max_steps < 0 and self.epochs <= 0):
            raise ValueError("set epochs > 0 or max_steps > 0")


def encode_example(tokenizer: Any, messages: list[dict[str, str]], target: str) -> dict[str, list[int]]:
    prompt = prompt_ids(tokenizer, messages)
    answer = tokenizer(target, add_special_tokens=False)["input_ids"] + [end_of_turn(tokenizer)]
    return {
        "input_ids": prompt + answer,
        "attention_mask": [1] * (len(prompt) + len(answer)),
        "labels": [IGNORE] * len(prompt) + answer,
    }


def encode_examples(tokenizer: Any, examples: list[dict], max_length: int) -> tuple[Any, int]:
    """A datasets.Dataset of encoded examples, and how many were too long to keep."""
    from datasets import Dataset

    encoded = [encode_example(tokenizer, e["messages"], e["target"]) for e in examples]
    kept = [e for e in encoded if len(e["input_ids"]) <= max_length]
    return Dataset.from_list(kept), len(encoded) - len(kept)


def load_base(base_dir: Path) -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32)
    return model, load_tokenizer(base_dir)


def collator(tokenizer: Any) -> Any:
    from transformers import DataCollatorForSeq2Seq

    return DataCollatorForSeq2Seq(tokenizer, padding=True, label_pad_token_id=IGNORE, return_tensors="pt")


def fit(
    model: Any, tokenizer: Any, train: Any, recipe: LoraRecipe, work_dir: Path, callbacks: list | None = None
) -> tuple[Any, list[dict]]:
    """Wrap `model` with LoRA adapters and train them; returns the peft model and its log.
    `callbacks`: transformers TrainerCallbacks (the base comparison times steps with one)."""
    from peft import LoraConfig, get_peft_model
    from transformers import Trainer, TrainingArguments, set_seed

    set_seed(recipe.seed)
    lora = LoraConfig(
        r=recipe.rank,
        lora_alpha=recipe.alpha,
        lora_dropout=recipe.dropout,
        target_modules=recipe.target_modules,
        task_type="CAUSAL_LM",
    )
    peft_model = get_peft_model(model, lora)
    args = TrainingArguments(
        output_dir=str(work_dir),
        per_device_train_batch_size=recipe.batch_size,
        learning_rate=recipe.learning_rate,
        lr_scheduler_type="cosine",
        warmup_steps=recipe.warmup,  # transformers 5: a float below 1 is a share of the steps
        num_train_epochs=recipe.epochs,
        max_steps=recipe.max_steps,
        logging_steps=recipe.logging_steps,
        save_strategy="no",
        report_to=[],
        seed=recipe.seed,
        data_seed=recipe.seed,
        use_cpu=not torch.cuda.is_available(),
        dataloader_num_workers=0,
    )
    trainer = Trainer(
        model=peft_model,
        args=args,
        train_dataset=train,
        data_collator=collator(tokenizer),
        callbacks=callbacks,
    )
    trainer.train()
    history = [
        {"step": entry["step"], "loss": entry["loss"]}
        for entry in trainer.state.log_history
        if "loss" in entry
    ]
    return peft_model, history


@torch.no_grad()
def target_loss(model: Any, tokenizer: Any, dataset: Any, batch_size: int = 8) -> float:
    """Mean cross-entropy per interviewer token (exp of it is the perplexity)."""
    model.eval()
    collate = collator(tokenizer)
    total, tokens = 0.0, 0
    for start in range(0, len(dataset), batch_size):
        batch = collate([dataset[i] for i in range(start, min(start + batch_size, len(dataset)))])
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        labels = batch["labels"][:, 1:]
        losses = torch.nn.functional.cross_entropy(
            logits[:, :-1].flatten(0, 1).float(), labels.flatten(), ignore_index=IGNORE, reduction="sum"
        )
        total += float(losses)
        tokens += int((labels != IGNORE).sum())
    return total / max(tokens, 1)


def read_examples(path: Path) -> list[dict]:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing; run `dvc repro build_dialogues` first")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
