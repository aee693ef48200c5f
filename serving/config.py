"""The service's recipe: section `serve` of configs/serving.yaml (models, limits, roles)."""

from __future__ import annotations

from dataclasses import field
from pathlib import Path

from pydantic.dataclasses import dataclass

from mockmentor.config import STRICT, load_section
from mockmentor.settings import get_settings
from mockmentor.speech.live_answer import LiveAnswerConfig

from .audio_input import AudioLimits


@dataclass(config=STRICT)
class ServeConfig:
    processed_dir: Path = field(metadata={"help": "question records written by `prepare`"})
    scorer: str = field(metadata={"help": "'registry:<name>' (its champion) or a scorer folder"})
    interviewer: str = field(
        metadata={"help": "'registry:<name>', a folder from train_interviewer, or 'base:<models.yaml name>'"}
    )
    base_coverage_rule: Path = field(
        metadata={"help": "coverage.json fitted by build_dialogues, for a base interviewer (tuned: its own)"}
    )
    interviewer_backend: str = field(metadata={"help": "llama.cpp (fast path) or transformers"})
    prefill_next_prompt: bool = field(
        metadata={"help": "llama.cpp: prefill the next turn's prompt start while the candidate answers"}
    )
    prepare_question: bool = field(
        metadata={
            "help": "encode each question for the scorer and the key-point coverage while it is "
            "asked, so that the turn encodes only the answer"
        }
    )
    speech_model: str = field(metadata={"help": "faster-whisper model (models.yaml name)"})
    speech_beam_size: int = field(metadata={"help": "1 = greedy decoding (fastest)"})
    speech_fallback: bool = field(
        metadata={
            "help": "decode again at rising temperatures when Whisper's text looks repetitive "
            "(faster-whisper's default; slower in the tail, no better on the project's clips)"
        }
    )
    tts_engine: str = field(metadata={"help": "text-to-speech engine; 'piper'"})
    voice: str = field(metadata={"help": "voice model (models.yaml name)"})
    threads: int = field(metadata={"help": "CPU threads per model"})
    first_clause_words: int = field(
        metadata={
            "help": "speak the reply's first clause on its own when it has at least this many words "
            "(its audio plays while the rest is made); 0 speaks whole sentences"
        }
    )
    early_opening: bool = field(
        metadata={
            "help": "speak that opening clause as soon as the model has written it, before its sentence "
            "ends, when it keeps the contract by itself (the guard then cuts rather than skips a "
            "sentence that breaks it later; evaluate_interviewer's served_opening_words must agree)"
        }
    )
    max_new_tokens: int = field(metadata={"help": "longest interviewer reply, in tokens"})
    questions_per_session: int = field(metadata={"help": "planned main questions per interview"})
    probes_per_question: int = field(metadata={"help": "follow-up questions on missed points per question"})
    max_audio_bytes: int = field(metadata={"help": "largest accepted upload"})
    max_audio_seconds: float = field(metadata={"help": "longest accepted recording"})
    min_audio_seconds: float = field(metadata={"help": "shortest accepted recording"})
    silence_rms: float = field(metadata={"help": "recordings quieter than this are rejected as silent"})
    max_pending_answers: int = field(metadata={"help": "answers in progress before new ones get 503"})
    seconds_per_answer: float = field(metadata={"help": "measured CPU time of one answer (for Retry-After)"})
    max_live_answers: int = field(
        metadata={"help": "live answer sockets listening at once before a new one is refused (1013)"}
    )
    max_answer_chars: int = field(metadata={"help": "longest typed answer"})
    max_job_description_chars: int = field(metadata={"help": "longest job description"})
    fillers: list[str] = field(metadata={"help": "filler phrases counted in delivery analytics"})
    pause_seconds: float = field(metadata={"help": "a silence longer than this counts as a long pause"})
    live_answer: LiveAnswerConfig = field(
        metadata={"help": "answers streamed over /live/answer: segments, hands-free end of turn, windows"}
    )
    keep_audio: bool = field(metadata={"help": "store uploaded answers (off: audio is never written)"})
    audio_dir: Path = field(metadata={"help": "where kept audio goes"})
    roles: dict[str, list[str]] = field(metadata={"help": "role -> the topics it is interviewed on"})
    coding_problems: Path = field(metadata={"help": "problems written by build_coding_problems"})
    coding_round_roles: list[str] = field(metadata={"help": "roles offered the coding round"})
    problems_per_session: int = field(metadata={"help": "coding problems planned per coding round"})
    max_runs_per_problem: int = field(metadata={"help": "runs of one problem before the round moves on"})

    def __post_init__(self) -> None:
        if self.interviewer_backend not in ("llama.cpp", "transformers"):
            raise ValueError("interviewer_backend must be 'llama.cpp' or 'transformers'")
        if self.max_audio_bytes <= 0 or self.max_audio_seconds <= self.min_audio_seconds:
            raise ValueError("audio limits must be positive and max_audio_seconds above min_audio_seconds")
        if self.tts_engine != "piper":
            raise ValueError("tts_engine must be 'piper' (the only engine that has been run here)")
        if self.max_pending_answers < 1 or self.seconds_per_answer <= 0:
            raise ValueError("max_pending_answers must be at least 1 and seconds_per_answer positive")
        if self.first_clause_words < 0:
            raise ValueError("first_clause_words must be 0 (off) or more")
        if self.max_live_answers < 1:
            raise ValueError("max_live_answers must be at least 1")
        if not self.roles:
            raise ValueError("roles must name at least one role")
        if not set(self.coding_round_roles) <= set(self.roles):
            raise ValueError("coding_round_roles must be roles named in roles")
        if self.problems_per_session < 1 or self.max_runs_per_problem < 1:
            raise ValueError("problems_per_session and max_runs_per_problem must be at least 1")

    @property
    def audio_limits(self) -> AudioLimits:
        return AudioLimits(
            self.max_audio_bytes, self.max_audio_seconds, self.min_audio_seconds, self.silence_rms
        )


def load_serve_config(path: Path | None = None) -> ServeConfig:
    return load_section(path or get_settings().serving_config, "serve", ServeConfig)
