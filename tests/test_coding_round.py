"""The coding round over HTTP: real problems, the real sandbox, the report and the history.

The service runs as `bentoml serve` in its own process (the `service` fixture), with the
HumanEval problems the `build_coding_problems` stage writes.
"""

from __future__ import annotations

from pathlib import Path

import jiwer
import pytest
from conftest import SPEECH, Service
from harness import transcripts
from sqlalchemy import create_engine, text

from mockmentor.coding.follow_up import follow_up_question
from mockmentor.coding.problems import load_problems

pytestmark = pytest.mark.slow  # the service process


def post(service: Service, route: str, **body: object) -> dict:
    response = service.post(route, json=body)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_coding_round_runs_discusses_reports_and_counts_in_the_history(
    service: Service, coding_problems: Path
) -> None:
    problems = load_problems(coding_problems)
    catalogue = post(service, "/catalogue")
    assert catalogue["coding_round"] == "ok" and catalogue["coding_round_roles"] == ["Software engineer"]

    started = post(
        service, "/start_session", role="Software engineer", topic="coding-round", difficulty="easy"
    )
    first = started["problem"]
    assert started["topic"] == "coding-round" and started["questions_planned"] == 2
    assert first["difficulty"] == "easy" and problems[first["id"]].difficulty == "easy"
    assert first["starting_code"].startswith(problems[first["id"]].prompt.lstrip("\n"))
    assert problems[first["id"]].canonical_solution not in started["reply"] + first["starting_code"]
    assert first["summary"] in started["reply"] and started["speech"]
    auth = {"session_id": started["session_id"], "session_token": started["session_token"]}

    # A wrong solution: the failing case is named, the fix is not, and the round stays on it.
    wrong = post(
        service, "/run_code", **auth, code=first["starting_code"].replace("    pass\n", "    return None\n")
    )
    assert wrong["run"]["status"] in ("failed", "error") and not wrong["solved"]
    assert wrong["next_problem"] is None and not wrong["finished"] and wrong["runs"] == 1
    assert wrong["reply"].endswith("?") and "tests pass" in wrong["reply"]
    assert problems[first["id"]].canonical_solution.strip() not in wrong["reply"]
    assert wrong["speech"]

    # Thinking aloud while coding: the speech comes with the run and is transcribed into the turn.
    clip = SPEECH / "LJ001-0001.wav"
    with clip.open("rb") as audio:
        response = service.post(
            "/run_code_spoken",
            data={**auth, "code": first["starting_code"]},
            files={"audio": (clip.name, audio, "audio/wav")},
        )
    assert response.status_code == 200, response.text
    spoken = response.json()
    assert jiwer.wer(transcripts()[clip.name].lower(), spoken["transcript"].lower()) < 0.15
    assert spoken["runs"] == 2 and not spoken["solved"]

    # A spoken answer to a coding round is sent where it belongs.
    misplaced = service.post("/answer_text", json={**auth, "text": "I would use a loop."})
    assert misplaced.status_code == 409 and "/run_code" in misplaced.text

    # The right one: every test passes, and the interviewer asks one question about the code.
    reference = problems[first["id"]].reference_solution
    right = post(service, "/run_code", **auth, code=reference)
    assert right["solved"] and right["run"]["passed"] == right["run"]["total"] > 0
    asked = follow_up_question(reference, first["entry_point"], problems[first["id"]].test)
    assert asked is not None  # every easy reference solution has a loop or a typed parameter
    assert right["follow_up"] == asked and right["reply"].endswith(asked)
    assert right["next_problem"] is None and not right["finished"]

    # Answered aloud with the same code, the round moves to the second problem.
    with clip.open("rb") as audio:
        response = service.post(
            "/run_code_spoken",
            data={**auth, "code": reference},
            files={"audio": (clip.name, audio, "audio/wav")},
        )
    assert response.status_code == 200, response.text
    answered = response.json()
    assert answered["solved"] and answered["follow_up"] is None and answered["transcript"]
    assert answered["reply"].startswith("Thanks for talking me through it.")
    second = answered["next_problem"]
    assert second is not None and second["id"] != first["id"] and second["summary"] in answered["reply"]

    # A hostile run on the second problem ends in a clear result; the service stays healthy.
    loop = post(
        service,
        "/run_code",
        **auth,
        code=second["starting_code"].replace("    pass", "    while True:\n        pass"),
    )
    assert loop["run"]["status"] == "timeout" and loop["reply"].endswith("?")
    assert service.post("/healthz").json()["coding_round"] == "ok"
    huge = post(service, "/run_code", **auth, code="x = 1\n" * 175_000)  # 1 MB
    assert huge["run"]["status"] == "refused" and "over the limit" in huge["reply"]

    # The report reveals a reference solution, with each problem's final code and result.
    report = post(service, "/session_report", **auth)
    coding = {item["problem_id"]: item for item in report["coding"]}
    assert set(coding) == {first["id"], second["id"]}
    assert coding[first["id"]]["solved"] and coding[first["id"]]["runs"] == 4
    assert coding[first["id"]]["follow_up"] == asked and len(coding[first["id"]]["said"]) == 2
    assert coding[second["id"]]["follow_up"] is None and coding[second["id"]]["said"] == []
    assert coding[first["id"]]["final_code"] == problems[first["id"]].reference_solution
    assert not coding[second["id"]]["solved"] and coding[second["id"]]["last_run"]["status"] == "refused"
    assert coding[second["id"]]["reference_solution"] == problems[second["id"]].reference_solution
    assert report["answers"] == [] and report["mean_score"] is None

    history = post(service, "/history", candidate_token=started["candidate_token"])["sessions"]
    assert (history[-1]["problems_attempted"], history[-1]["problems_solved"]) == (2, 1)

    # Every run is one stored turn with its code and result, none of it interviewer training data.
    engine = create_engine(service.database_url)
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT kind, reply_source, code_run FROM turns WHERE session_id = :s ORDER BY position"),
            {"s": started["session_id"]},
        ).all()
    engine.dispose()
    assert [row.kind for row in rows] == ["opener"] + ["code"] * 6
    assert all(
        row.reply_source == "template" for row in rows[1:]
    )  # collect_ratings trains on model+plan only


def test_the_coding_round_refuses_what_it_cannot_run(service: Service) -> None:
    elsewhere = service.post(
        "/start_session", json={"role": "Front-end developer", "topic": "coding-round", "difficulty": "easy"}
    )
    assert elsewhere.status_code == 422 and "no coding round" in elsewhere.text
    spoken = post(service, "/start_session", role="Software engineer", topic="intro-programming")
    auth = {"session_id": spoken["session_id"], "session_token": spoken["session_token"]}
    not_coding = service.post("/run_code", json={**auth, "code": "def f():\n    pass\n"})
    assert not_coding.status_code == 409 and "not a coding round" in not_coding.text
    stranger = service.post("/run_code", json={**auth, "session_token": "x" * 43, "code": "pass"})
    assert stranger.status_code == 404
    raw = service.post(
        "/run_code",
        content=b'{"session_id": "a", "session_token": "b", "code": "\xff\xfe"}',
        headers={"content-type": "application/json"},
    )
    assert 400 <= raw.status_code < 500  # bytes that are not UTF-8 never reach the sandbox
