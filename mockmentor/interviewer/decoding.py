"""The interviewer LLM at inference: one model, two decoders, greedy and streaming.

  llama.cpp     the GGUF file (base + LoRA deltas, see gguf_export.py); the fast path
  transformers  base weights + the LoRA adapter merged in memory; the reference and fallback

Both decoders get the same token ids (the transformers tokenizer applies the chat
template), decode greedily and stop at the end-of-turn token, so their outputs can be
compared token for token. A model folder written by `train_interviewer` holds
`adapter/`, `interviewer.gguf` and `interviewer.json` (which names the base model).
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .coverage import CoverageRule

Backend = Literal["llama.cpp", "transformers"]
MAX_NEW_TOKENS = 96
# llama.cpp's context window: the longest prompt it accepts is this less the reply, and that is
# the prompt length its preflight proves.
N_CTX = 2048
logger = logging.getLogger("mockmentor.interviewer")
Stop = Callable[[], bool]  # asked before each token: is the reply still wanted?


def _always_wanted() -> bool:
    return False


class GenerationStopped(Exception):
    """The caller's `stop` said the reply is no longer wanted (a reply started early, in the
    candidate's silence, when they speak again): decoding ended at the next token."""


def load_tokenizer(base_dir: Path) -> Any:
    """The base model's tokenizer, with a pad token (SmolLM2 ships none) for batching."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(base_dir)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def end_of_turn(tokenizer: Any) -> int:
    """The token that ends an assistant turn in the chat template (EOS when there is none)."""
    if "<|im_end|>" in tokenizer.get_vocab():
        return tokenizer.convert_tokens_to_ids("<|im_end|>")
    return tokenizer.eos_token_id


def prompt_ids(tokenizer: Any, messages: list[dict[str, str]], through: str | None = None) -> list[int]:
    """The chat template applied to `messages`, ending where the interviewer's reply starts, or
    right after the first `through` in it."""
    if through is None:
        ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
        return list(ids["input_ids"] if hasattr(ids, "keys") else ids)
    text = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    end = text.index(through) + len(through)  # ValueError when the prompt does not hold it
    return list(tokenizer(text[:end], add_special_tokens=False)["input_ids"])


@dataclass(frozen=True)
class InterviewerFiles:
    """Where one interviewer's weights are: a transformers base, an optional adapter, a GGUF;
    and the coverage rule its training data used (a tuned model carries its own; an untuned base
    reads one that `build_dialogues` fitted, from `coverage_file`)."""

    base_dir: Path
    gguf: Path
    adapter_dir: Path | None = None
    model_dir: Path | None = None  # a folder written by train_interviewer
    coverage_file: Path = Path("data/dialogues/coverage.json")

    @property
    def coverage(self) -> CoverageRule:
        if self.model_dir is None:
            return CoverageRule.read(self.coverage_file)
        meta = json.loads((self.model_dir / "interviewer.json").read_text())
        if "coverage" not in meta:
            from mockmentor.model_assets import ModelAssetError

            raise ModelAssetError(
                f"{self.model_dir}/interviewer.json has no coverage rule (trained before it was recorded); "
                "retrain it with `dvc repro train_interviewer`"
            )
        return CoverageRule(**meta["coverage"])

    @property
    def key_points(self) -> dict[str, list[str]]:
        """Key points written by people for bank questions whose reference is a word list or a
        long document (question id -> points); none for an untuned base."""
        if self.model_dir is None:
            return {}
        return json.loads((self.model_dir / "interviewer.json").read_text()).get("key_points", {})

    @classmethod
    def base(cls, name: str = "interviewer-base", coverage_file: Path | None = None) -> InterviewerFiles:
        from mockmentor.model_assets import gguf_path, resolved_path

        return cls(resolved_path(name), gguf_path(name), coverage_file=coverage_file or cls.coverage_file)

    @classmethod
    def tuned(cls, model_dir: Path) -> InterviewerFiles:
        meta = json.loads((model_dir / "interviewer.json").read_text())
        base_dir = cls.base(meta["base"]).base_dir
        return cls(base_dir, model_dir / "interviewer.gguf", model_dir / "adapter", model_dir)


class Interviewer:
    def __init__(
        self,
        files: InterviewerFiles,
        backend: Backend = "llama.cpp",
        max_new_tokens: int = MAX_NEW_TOKENS,
        threads: int | None = None,
        reuse_prefix: bool = False,
    ) -> None:
        self.files, self.backend, self.max_new_tokens = files, backend, max_new_tokens
        # llama.cpp only: keep the KV cache between calls so a prompt sharing its start with the
        # previous one (or with a `warm` prompt) skips that part of the prefill.
        self.reuse_prefix = reuse_prefix
        self.tokenizer = load_tokenizer(files.base_dir)
        self.tokenizer.padding_side = "left"  # batched generation continues from the right edge
        self.end_id = end_of_turn(self.tokenizer)
        self.threads = threads or min(os.cpu_count() or 1, 8)
        # llama.cpp contexts are not thread-safe; one turn decodes at a time per instance.
        self._lock = threading.Lock()
        self.preflight = None
        if backend == "llama.cpp":
            self.backend = self._proven_backend()
        self.model: Any = self._load_llama() if self.backend == "llama.cpp" else self._load_transformers()

    def _proven_backend(self) -> Backend:
        """llama.cpp once a child process has run it on this model file; transformers otherwise."""
        from .preflight import check, fallback_message

        if not self.files.gguf.is_file():
            raise FileNotFoundError(f"{self.files.gguf}: no GGUF file for the llama.cpp backend")
        self.preflight = check("llama.cpp", self.files.gguf, N_CTX - self.max_new_tokens)
        if self.preflight.ok:
            return "llama.cpp"
        logger.error("%s", fallback_message(self.preflight, "transformers"))
        return "transformers"

    @property
    def status(self) -> str:
        """Which backend is serving, and why when it is not the one asked for."""
        if self.preflight is None or self.preflight.ok:
            return self.backend
        return f"{self.backend} (llama.cpp failed its preflight: {self.preflight.detail})"

    def _load_llama(self) -> Any:
        from llama_cpp import Llama

        llama = Llama(
            model_path=str(self.files.gguf),
            n_ctx=N_CTX,
            n_threads=self.threads,
            n_threads_batch=self.threads,
            seed=0,
            verbose=False,
        )
        atexit.register(llama.close)  # its __del__ fails once the interpreter is shutting down
        return llama

    def _load_transformers(self) -> Any:
        import torch
        from transformers import AutoModelForCausalLM

        model = AutoModelForCausalLM.from_pretrained(self.files.base_dir, dtype=torch.float32)
        if self.files.adapter_dir is not None:
            from peft import PeftModel

            model = PeftModel.from_pretrained(model, self.files.adapter_dir).merge_and_unload()
        return model.eval()

    def stream(
        self, messages: list[dict[str, str]], stop: Stop | None = None, reply_start: str = ""
    ) -> Iterator[str]:
        """The reply's text, piece by piece as it is decoded. `stop`, when given, is asked before
        every token; once it says True decoding ends and GenerationStopped is raised, so a reply
        nobody waits for frees the model (and its lock) within a token. `reply_start`: words the
        reply has said already (an opening spoken ahead); decoding goes on after them, and only
        what follows them is streamed."""
        stop = stop or _always_wanted
        prompt = prompt_ids(self.tokenizer, messages)
        if reply_start:
            prompt += self.tokenizer(reply_start, add_special_tokens=False)["input_ids"]
        if self.backend == "llama.cpp":
            yield from self._stream_llama(prompt, stop)
        else:
            yield from self._stream_transformers(prompt, stop)

    def _stream_llama(self, prompt: list[int], stop: Stop) -> Iterator[str]:
        with self._lock:
            if not self.reuse_prefix:
                self.model.reset()
            pieces: list[int] = []
            text = ""
            for n, token in enumerate(
                self.model.generate(prompt, top_k=1, top_p=1.0, temp=0.0, repeat_penalty=1.0, reset=True)
            ):
                if token == self.end_id or token == self.model.token_eos() or n >= self.max_new_tokens:
                    break
                if stop():
                    raise GenerationStopped
                pieces.append(token)
                # Decode the whole reply so far: a token may end in the middle of a UTF-8 character.
                full = self.tokenizer.decode(pieces, skip_special_tokens=True)
                if len(full) > len(text) and not full.endswith("\ufffd"):
                    yield full[len(text) :]
                    text = full

    def warm(self, messages: list[dict[str, str]], through: str | None = None) -> None:
        """Prefill `messages` now (idle time) so the next prompt that starts the same way is faster;
        `through`: only up to the end of that text in the prompt (what follows is the real turn's)."""
        if self.backend != "llama.cpp" or not self.reuse_prefix:
            return
        prompt = prompt_ids(self.tokenizer, messages, through)
        with self._lock:
            for _ in self.model.generate(
                prompt, top_k=1, top_p=1.0, temp=0.0, repeat_penalty=1.0, reset=True
            ):
                break  # the prompt is in the KV cache once the first token is sampled

    def _stream_transformers(self, prompt: list[int], stop: Stop) -> Iterator[str]:
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        class Stopped(StoppingCriteria):
            def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor, **kwargs: Any) -> torch.Tensor:
                return torch.full((input_ids.shape[0],), stop(), dtype=torch.bool)

        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        inputs = torch.tensor([prompt])
        kwargs = {
            "input_ids": inputs,
            "attention_mask": torch.ones_like(inputs),
            "max_new_tokens": self.max_new_tokens,
            "do_sample": False,
            "eos_token_id": self.end_id,
            "pad_token_id": self.tokenizer.pad_token_id,
            "streamer": streamer,
            "stopping_criteria": StoppingCriteriaList([Stopped()]),
        }
        worker = threading.Thread(target=self.model.generate, kwargs=kwargs, daemon=True)
        worker.start()
        for piece in streamer:
            if stop():
                break
            if piece:
                yield piece
        worker.join()
        if stop():
            raise GenerationStopped

    def reply(self, messages: list[dict[str, str]]) -> str:
        return "".join(self.stream(messages)).strip()

    def replies(self, conversations: list[list[dict[str, str]]], batch_size: int = 8) -> list[str]:
        """Greedy replies to many prompts (batched on the transformers backend)."""
        if self.backend == "llama.cpp":
            return [self.reply(messages) for messages in conversations]
        import torch

        out = []
        for start in range(0, len(conversations), batch_size):
            batch = [prompt_ids(self.tokenizer, m) for m in conversations[start : start + batch_size]]
            width = max(len(ids) for ids in batch)
            pad = self.tokenizer.pad_token_id
            input_ids = torch.tensor([[pad] * (width - len(ids)) + ids for ids in batch])
            mask = torch.tensor([[0] * (width - len(ids)) + [1] * len(ids) for ids in batch])
            with torch.no_grad():
                generated = self.model.generate(
                    input_ids=input_ids,
                    attention_mask=mask,
                    max_new_tokens=self.max_new_tokens,
                    do_sample=False,
                    eos_token_id=self.end_id,
                    pad_token_id=pad,
                )
            out += [self.tokenizer.decode(row[width:], skip_special_tokens=True).strip() for row in generated]
        return out
