"""The voice-interview service over HTTP: real models, real speech, both databases, bad input.

The service runs as `bentoml serve` in its own process, exactly as users start it (see the
`service` fixtures in conftest.py for which models it serves).
"""

from __future__ import annotations

import base64
import io
import json
import re
import socket
import wave
from pathlib import Path

import httpx
import jiwer
import numpy as np
import pytest
import yaml
from conftest import MAX_AUDIO_BYTES, MAX_AUDIO_SECONDS, REPO, SPEECH, Service
from harness import transcripts

from mockmentor.interviewer.guard import opening_clause
from mockmentor.interviewer.leak import leaked_points
from mockmentor.speech.pcm import wav_bytes
from mockmentor.speech.synthesis import speech_parts

pytestmark = pytest.mark.slow  # the service process
SERVE = yaml.safe_load((REPO / "configs/serving.yaml").read_text())["serve"]
FIRST_CLAUSE_WORDS = SERVE["first_clause_words"]


def start(service: Service, **fields) -> dict:
    body = {"role": "Software engineer", "topic": "intro-programming"} | fields
    response = service.post("/start_session", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def assert_wavs(speech: list[dict]) -> None:
    assert speech
    for sentence in speech:
        with wave.open(io.BytesIO(base64.b64decode(sentence["audio_wav_base64"]))) as audio:
            assert audio.getnframes() > audio.getframerate() * 0.3  # at least 0.3 s of speech


def sse_events(response: httpx.Response) -> list[dict]:
    blocks = [b for b in response.text.split("\n\n") if b.strip()]
    return [json.loads(next(line[5:] for line in b.splitlines() if line.startswith("data:"))) for b in blocks]


def full_interview(service: Service) -> None:
    started = start(service)
    session, token = started["session_id"], started["session_token"]
    assert started["questions_planned"] == 3 and started["reply"].endswith("?")
    assert_wavs(started["speech"])
    auth = {"session_id": session, "session_token": token}

    # 1. a real recorded clip, uploaded whole
    clip = SPEECH / "LJ001-0001.wav"
    with clip.open("rb") as audio:
        response = service.post("/answer_audio", data=auth, files={"audio": (clip.name, audio, "audio/wav")})
    assert response.status_code == 200, response.text
    first = response.json()
    assert jiwer.wer(transcripts()["LJ001-0001.wav"].lower(), first["transcript"].lower()) < 0.15
    assert 0 <= first["score"]["low"] <= first["score"]["score"] <= first["score"]["high"] <= 5
    assert first["delivery"]["words_per_minute"] > 60 and first["delivery"]["speaking_seconds"] > 5
    assert first["reply"] and first["position"] == 1
    assert_wavs(first["speech"])
    assert {"decode", "speech_to_text", "score", "first_audio", "total"} <= set(first["timings_ms"])

    # 2. typed
    response = service.post("/answer_text", json=auth | {"text": "A stack is a last in, first out list."})
    assert response.status_code == 200, response.text
    second = response.json()
    assert second["position"] == 2 and second["delivery"]["words_per_minute"] is None

    # 3. streamed, spoken by Piper: transcript, score and sentences arrive as separate events
    from mockmentor.model_assets import resolve
    from mockmentor.speech.synthesis import PiperTextToSpeech

    spoken = PiperTextToSpeech(resolve("piper-voice"), threads=1).wav(
        "Recursion is when a function calls itself."
    )
    response = service.post(
        "/answer_audio_stream", data=auth, files={"audio": ("a.wav", spoken, "audio/wav")}
    )
    assert response.status_code == 200, response.text
    events = sse_events(response)
    kinds = [e["event"] for e in events]
    assert kinds[:2] == ["transcript", "score"] and kinds[-1] == "turn" and "sentence" in kinds
    assert "recursion" in events[0]["transcript"].lower()
    third = events[-1]
    assert third["position"] == 3
    # every word of the reply is spoken once, in order; the first sentence's opening clause on its own
    said = [e["text"] for e in events if e["event"] == "sentence"]
    assert " ".join(said).split() == third["reply"].split()
    first_sentence = re.split(r"(?<=[.!?])\s+", third["reply"])[0]
    # (as soon as the model wrote it, or split off the whole sentence when it could not go early)
    early = opening_clause(first_sentence, FIRST_CLAUSE_WORDS) if SERVE["early_opening"] else None
    assert said[0] in {early, speech_parts(first_sentence, FIRST_CLAUSE_WORDS)[0]}

    # the candidate rates the feedback, with the score they think they deserved
    rated = service.post(
        "/rate_turn",
        json=auth | {"turn_id": third["turn_id"], "rating": 4, "comment": "fair", "candidate_score": 3},
    )
    assert rated.status_code == 200, rated.text
    report = service.post("/session_report", json=auth).json()
    assert [a["position"] for a in report["answers"]] == [1, 2, 3]
    assert report["answers"][2]["rating"] == 4
    for answer, turn in zip(report["answers"], (first, second, third), strict=True):
        # revealed only now: what a strong answer would say, and one tip naming what was missed
        assert answer["strong_answer"] and answer["tip"]
        if turn["score"]["missed"]:
            assert turn["score"]["missed"][0].rstrip(".").lower()[:30] in answer["tip"].lower()
        # the interviewer never read a missed point aloud during the interview
        assert not leaked_points(
            turn["reply"], turn["score"]["missed"], turn["question"], turn["transcript"]
        ), turn["reply"]
    assert isinstance(report["delivery_advice"], list)
    scored = [a["score"] for a in report["answers"] if not a["off_topic"]]  # a non-answer is no score
    assert report["mean_score"] == (pytest.approx(np.mean(scored), abs=0.01) if scored else None)
    history = service.post("/history", json={"candidate_token": started["candidate_token"]}).json()
    assert session in [s["session_id"] for s in history["sessions"]]
    assert service.turn_rows(session) == 4  # the opener and three answers


def test_full_interview_sqlite(service: Service) -> None:
    full_interview(service)


def test_an_answer_that_says_nothing_is_asked_again_unscored_and_never_trained_on(
    service: Service, settings_env, tmp_path: Path
) -> None:
    import yaml

    from mockmentor.data.collect_ratings import main as collect_ratings

    started = start(service)
    auth = {"session_id": started["session_id"], "session_token": started["session_token"]}
    first = service.post("/answer_text", json=auth | {"text": "I don't know."}).json()
    assert first["score"]["off_topic"] and first["score"]["evidence"]["reasons"], first["score"]
    assert first["score"]["covered"] == first["score"]["missed"] == []  # no points are named
    assert first["retry"] and not first["follow_up"] and first["next_question"] == first["question"]
    assert (
        first["reply"].startswith("That doesn't seem to answer the question")
        and first["reply_source"] == "template"
    )
    rated = service.post(
        "/rate_turn", json=auth | {"turn_id": first["turn_id"], "rating": 5, "candidate_score": 5}
    )
    assert rated.status_code == 200, rated.text
    # Off topic once more: the interview moves on instead of asking a third time.
    second = service.post("/answer_text", json=auth | {"text": "Um, well, sorry, no idea."}).json()
    assert second["score"]["off_topic"] and not second["retry"]
    assert second["reply"].startswith("That still doesn't answer the question")
    assert second["next_question"] != first["question"]
    report = service.post("/session_report", json=auth).json()
    assert [a["off_topic"] for a in report["answers"]] == [True, True] and report["mean_score"] is None

    settings_env(MOCKMENTOR_DATABASE_URL=service.database_url)
    out = {name: str(tmp_path / f"{name}.jsonl") for name in ("turns", "answers")}
    (tmp_path / "data.yaml").write_text(
        yaml.safe_dump({"collect_ratings": out | {"report": str(tmp_path / "r.json")}})
    )
    counts = collect_ratings(tmp_path / "data.yaml")
    assert counts["skipped_off_topic"] >= 1
    exported = Path(out["turns"]).read_text() + Path(out["answers"]).read_text()
    assert first["turn_id"] not in exported  # neither its reply nor its self-grade is trained on


def test_full_interview_postgresql(postgres_service: Service) -> None:
    full_interview(postgres_service)


def test_api_and_page_are_served(service: Service) -> None:
    spec = service.http.get("/docs.json").json()
    assert {
        "/start_session",
        "/answer_audio",
        "/answer_audio_stream",
        "/answer_text_stream",
        "/rate_turn",
        "/session_report",
    } <= set(spec["paths"])
    page = service.http.get("/app/")
    assert page.status_code == 200 and "MockMentor" in page.text
    assert service.http.get("/app/app.js").status_code == 200
    health = service.post("/healthz").json()
    assert health["interviewer_backend"] == "llama.cpp"  # the portable build passed its preflight


def bad_audio() -> dict[str, tuple[bytes, str, int, str]]:
    """name -> (bytes, content type, expected status, words the message must contain)."""
    flac = (SPEECH / "jfk.flac").read_bytes()
    rng = np.random.default_rng(0)
    return {
        "empty": (b"", "audio/wav", 422, "empty"),
        "silent": (wav_bytes(np.zeros(16_000)), "audio/wav", 422, "silent"),
        "too short": (wav_bytes(rng.normal(0, 0.1, 800)), "audio/wav", 422, "at least"),
        "random bytes": (rng.bytes(5000), "audio/wav", 415, "not a recognised audio"),
        "png as audio": (b"\x89PNG\r\n\x1a\n" + rng.bytes(100), "image/png", 415, "not a recognised audio"),
        "corrupt wav": (b"RIFF" + rng.bytes(4000), "audio/wav", 422, "could not be decoded"),
        "truncated flac": (flac[:3000], "audio/flac", 422, "could not be decoded"),
        "too long": (
            wav_bytes(rng.normal(0, 0.1, 16_000 * (MAX_AUDIO_SECONDS + 5))),
            "audio/wav",
            413,
            "longer",
        ),
        "too large": (b"RIFF" + bytes(MAX_AUDIO_BYTES + 10), "audio/wav", 413, "over the limit"),
    }


@pytest.mark.parametrize("case", list(bad_audio()))
def test_bad_audio_is_refused_without_a_trace(service: Service, case: str) -> None:
    started = start(service)
    auth = {"session_id": started["session_id"], "session_token": started["session_token"]}
    data, content_type, status, words = bad_audio()[case]
    response = service.post("/answer_audio", data=auth, files={"audio": ("answer", data, content_type)})
    assert response.status_code == status, response.text
    assert words in response.text
    assert service.turn_rows(started["session_id"]) == 1  # only the opener: no half-written turn
    assert service.post("/healthz").status_code == 200  # the worker is still serving


def test_bad_requests_get_clear_4xx(service: Service) -> None:
    started = start(service)
    other = start(service)
    auth = {"session_id": started["session_id"], "session_token": started["session_token"]}
    foreign = {"session_id": started["session_id"], "session_token": other["session_token"]}
    cases = [
        ("/answer_text", foreign | {"text": "hi"}, 404, "no session"),
        ("/answer_text", {"session_id": "0" * 32, "session_token": "x", "text": "hi"}, 404, "no session"),
        ("/answer_text", {"session_id": started["session_id"], "text": "hi"}, 400, "session_token"),
        ("/answer_text", auth | {"text": "   "}, 422, "empty"),
        ("/answer_text", auth | {"text": "word " * 1000}, 413, "limit"),
        ("/session_report", foreign, 404, "no session"),
        ("/rate_turn", auth | {"turn_id": other["turn_id"], "rating": 5}, 404, "no such turn"),
        ("/rate_turn", auth | {"turn_id": started["turn_id"], "rating": 6}, 400, "rating"),
        ("/start_session", {"role": "Astronaut"}, 422, "unknown role"),
        ("/start_session", {"role": "Software engineer", "topic": "css"}, 422, "not part of role"),
        ("/start_session", {"role": "Software engineer", "difficulty": "insane"}, 400, "difficulty"),
        ("/start_session", {"role": "Software engineer", "job_description": "x" * 9000}, 413, "limit"),
    ]
    for route, body, status, words in cases:
        response = service.post(route, json=body)
        assert (response.status_code, words in response.text) == (status, True), (route, body, response.text)
    # the foreign token wrote nothing, read nothing
    assert service.turn_rows(started["session_id"]) == 1
    response = service.post(
        "/answer_audio_stream", data=foreign, files={"audio": ("a.wav", b"RIFF", "audio/wav")}
    )
    assert response.status_code == 404


def test_serve_refuses_to_start_without_its_models(tmp_path: Path, settings_env) -> None:
    import yaml
    from typer.testing import CliRunner

    from mockmentor.cli import app

    config = yaml.safe_load((REPO / "configs/serving.yaml").read_text())
    config["serve"]["scorer"] = "registry:no-such-model"
    (tmp_path / "serving.yaml").write_text(yaml.safe_dump(config))
    settings_env(MOCKMENTOR_SERVING_CONFIG=str(tmp_path / "serving.yaml"))
    result = CliRunner().invoke(app, ["serve"])
    assert result.exit_code == 2
    assert "no 'no-such-model@champion' in the MLflow registry" in result.output


def test_malformed_multipart_is_a_4xx_not_a_crash(service: Service) -> None:
    """Regression: schemathesis found BentoML answering 500 to these bodies."""
    cases = [
        ({"Content-Type": "multipart/form-data"}, b"x", 400),  # no boundary
        ({"Content-Type": "multipart/form-data; boundary=7c51"}, b"--7c51\r\nNone--7c51--\r\n", 400),
        (
            {"Content-Type": "multipart/form-data; boundary=db4f"},
            b"--db4f\r\n\xf1\x97\xa9\r\n--db4f--\r\n",
            400,
        ),
    ]
    for headers, body, status in cases:
        response = service.post("/answer_audio", headers=headers, content=body)
        assert response.status_code == status, (headers, response.text)
        assert "error" in response.json()
    # A body claiming 1 GB is refused from its headers, before anything is read.
    host, port = service.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as raw:
        raw.sendall(
            b"POST /answer_audio HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
            b"Content-Length: 1000000000\r\n\r\n"
        )
        assert raw.recv(200).startswith(b"HTTP/1.1 413")
    assert service.post("/healthz").status_code == 200


def test_a_saturated_service_says_so_with_retry_after(service: Service) -> None:
    """Past max_pending_answers (2 in the test config) an answer gets 503 + Retry-After at once."""
    from concurrent.futures import ThreadPoolExecutor

    sessions = [start(service) for _ in range(5)]

    def answer(started: dict) -> httpx.Response:
        auth = {"session_id": started["session_id"], "session_token": started["session_token"]}
        return service.post("/answer_text", json=auth | {"text": "A stack is last in, first out."})

    with ThreadPoolExecutor(len(sessions)) as pool:
        responses = list(pool.map(answer, sessions))
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(200) >= 2 and 503 in statuses, statuses
    busy = next(r for r in responses if r.status_code == 503)
    assert int(busy.headers["Retry-After"]) >= 1 and "busy" in busy.json()["error"]
    for started, response in zip(sessions, responses, strict=True):  # a refused answer wrote nothing
        assert service.turn_rows(started["session_id"]) == (2 if response.status_code == 200 else 1)


def test_every_question_of_every_role_can_be_answered(service: Service) -> None:
    """Regression: a system-design reference over the scorer's 20,000-character limit made its turn fail."""
    from mockmentor.serving.question_bank import QuestionBank

    bank = QuestionBank(REPO / "data/processed", {"all": []})
    assert all(len(q.reference) <= 20_000 for q in bank.questions.values())
    longest = max(bank.questions.values(), key=lambda q: len(q.reference))
    started = start(service, topic=longest.topic, job_description=longest.text)  # ranks it first
    auth = {"session_id": started["session_id"], "session_token": started["session_token"]}
    response = service.post("/answer_text", json=auth | {"text": "I would shard the data and add a cache."})
    assert response.status_code == 200, response.text


def test_no_session_reaches_another_on_any_endpoint(service: Service) -> None:
    """bench/access_audit.py's attack matrix, with three candidates: 0 leaks, 0 changes."""
    from access_audit import audit

    result = audit(service.url, service.database_url, sessions=3)
    assert result["attempts"] >= 6 * 30
    assert result["leaks"] == []
    assert result["victim_sessions_changed"] == []
    assert set(result["by_status"]) <= {200, 400, 404}, result["by_status"]  # 200: an empty history
