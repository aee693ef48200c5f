"""Every model the service uses, loaded once per worker from configs/serving.yaml.

Model references: `registry:<name>` is the MLflow champion (what the pipeline promoted),
`base:<name>` a pretrained model from configs/models.yaml, anything else a local folder.
Every pretrained file is SHA-256-checked by `model_assets.resolve` before it loads.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mockmentor.model_assets import resolve
from mockmentor.speech.end_of_turn import N_CTX, EndOfTurnRule, SentenceEnd
from mockmentor.speech.synthesis import ENGINES, TextToSpeech
from mockmentor.speech.transcription import SpeechToText

from .config import ServeConfig
from .question_bank import QuestionBank


@dataclass
class LoadedModels:
    bank: QuestionBank
    speech: SpeechToText
    scorer: Any  # mockmentor.scorer.scorer.AnswerScorer
    coverage: Any  # mockmentor.interviewer.coverage.KeyPointCoverage
    coverage_rule: Any  # mockmentor.interviewer.coverage.CoverageRule, the interviewer's own
    interviewer: Any  # mockmentor.interviewer.decoding.Interviewer
    voice: TextToSpeech
    sentence_end: SentenceEnd  # when a hands-free answer may end (with end_of_turn's threshold)
    end_of_turn: EndOfTurnRule
    versions: dict[str, str]


def _folder(reference: str) -> tuple[Path, str]:
    """A model folder and a version label for `registry:<name>` or a path."""
    from mockmentor.registry import champion_dir

    if reference.startswith("registry:"):
        name = reference.removeprefix("registry:")
        folder, version = champion_dir(name)
        return folder, f"{name}/{version}"
    folder = Path(reference)
    if not folder.is_dir():
        raise FileNotFoundError(f"model folder {folder} does not exist (configs/serving.yaml)")
    return folder, str(folder)


def interviewer_files(config: ServeConfig) -> tuple[Any, str]:
    """The configured interviewer's files (an InterviewerFiles) and its version label."""
    from mockmentor.interviewer.decoding import InterviewerFiles

    if config.interviewer.startswith("base:"):
        base = InterviewerFiles.base(config.interviewer.removeprefix("base:"), config.base_coverage_rule)
        return base, config.interviewer
    folder, version = _folder(config.interviewer)
    return InterviewerFiles.tuned(folder), version


def preflight(config: ServeConfig) -> Any:
    """Fail fast, with a message, when something the service needs is missing or damaged
    (before BentoML starts): the questions, the models (each checksum-verified) and the database.
    Returns the decoding backend's verdict (mockmentor.interviewer.preflight.Verdict) or None."""
    from mockmentor.interviewer.decoding import N_CTX
    from mockmentor.interviewer.preflight import check
    from mockmentor.settings import get_settings
    from mockmentor.store.interviews import Store

    for name in ("questions.parquet", "bank.parquet"):
        if not (config.processed_dir / name).is_file():
            raise FileNotFoundError(
                f"{config.processed_dir / name} is missing: run `dvc repro prepare` first"
            )
    _folder(config.scorer)
    files, _ = interviewer_files(config)
    rule = EndOfTurnRule.load(config.live_answer.end_of_turn_rule)  # raises ValueError, naming it
    for name in (files.coverage.encoder, config.speech_model, config.voice, rule.model):
        resolve(name)
    Store.open(get_settings().database_url).ping()  # raises DatabaseUnavailable, naming it
    if config.interviewer_backend != "llama.cpp":
        return None
    # Run (or read from the cache) now, so the service's workers start on a known verdict.
    return check("llama.cpp", files.gguf, N_CTX - config.max_new_tokens)


def load_models(config: ServeConfig) -> LoadedModels:
    import torch

    from mockmentor.interviewer.coverage import KeyPointCoverage
    from mockmentor.interviewer.decoding import Interviewer
    from mockmentor.interviewer.proven_gguf import proven_gguf
    from mockmentor.scorer.scorer import AnswerScorer

    torch.set_num_threads(config.threads)
    bank = QuestionBank(config.processed_dir, config.roles)
    scorer_dir, scorer_version = _folder(config.scorer)
    files, interviewer_version = interviewer_files(config)
    rule = files.coverage  # the rule the interviewer's training turns were built with
    coverage = KeyPointCoverage(resolve(rule.encoder))
    bank.use_key_points(files.key_points)
    bank.embed_all(lambda texts: coverage.embed(texts))
    # A native backend that fails its preflight falls back to transformers here (logged once).
    interviewer = Interviewer(
        files, config.interviewer_backend, config.max_new_tokens, config.threads, config.prefill_next_prompt
    )
    end_of_turn = EndOfTurnRule.load(config.live_answer.end_of_turn_rule)
    return LoadedModels(
        bank=bank,
        speech=SpeechToText(
            resolve(config.speech_model),
            config.threads,
            config.speech_beam_size,
            fallback=config.speech_fallback,
        ),
        scorer=AnswerScorer(scorer_dir),
        coverage=coverage,
        coverage_rule=rule,
        interviewer=interviewer,
        voice=ENGINES[config.tts_engine](resolve(config.voice), config.threads),
        sentence_end=SentenceEnd(
            resolve(end_of_turn.model), proven_gguf(end_of_turn.model, N_CTX), threads=1
        ),
        end_of_turn=end_of_turn,
        versions={
            "scorer": scorer_version,
            "interviewer": f"{interviewer_version} ({interviewer.backend})",
            "speech": config.speech_model,
            "voice": config.voice,
            "encoder": rule.encoder,
            "end_of_turn": f"{end_of_turn.model} (log P(end) >= {end_of_turn.threshold:.2f})",
        },
    )
