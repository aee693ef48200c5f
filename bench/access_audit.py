"""Cross-session access audit against the running service, on loopback only (part of `make fuzz`).

Several candidates each answer and rate a turn whose text carries a unique canary. Then every
candidate attacks every other one on every endpoint that takes credentials: the victim's
session id with the attacker's token, with the victim's token one character off, with no
token; an unknown id; the attacker's own valid session pointed at the victim's turn; the
victim's session token used as a candidate token. An attempt leaks when it is answered 2xx
for a session it does not own, or when any response (refusals included) carries another
candidate's canary, session id or turn id. Afterwards the victims' sessions must be exactly
as they were, and no token may appear in the service's log or, in clear, in the database.

Writes bench/results/access.json. Bounded: a fixed number of sessions and attempts.

    python bench/access_audit.py [--sessions 4] [--config configs/serving.yaml]
"""

from __future__ import annotations

import argparse
import itertools
import json
import secrets
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from tqdm import tqdm

from mockmentor.serving.process import free_port, start_service, stop_service

REPO = Path(__file__).resolve().parent.parent
CLIP = REPO / "data/raw/speech/LJ001-0001.wav"
# Answered 2xx to anyone by design (they create or list the caller's own sessions): they leak
# only if another candidate's data shows up in the response.
OPEN_ROUTES = frozenset({"/history", "/start_session"})
HEADERS_THAT_OPEN_CORS = ("access-control-allow-origin", "access-control-allow-credentials")


@dataclass
class Candidate:
    session_id: str
    token: str
    candidate_token: str
    turn_ids: list[str]
    canary: str


def enrol(http: httpx.Client, count: int) -> list[Candidate]:
    """Candidates with one answered and rated turn each; the answer text carries a canary."""
    people = []
    for _ in tqdm(range(count), desc="candidates", unit="session"):
        started = http.post("/start_session", json={"role": "Software engineer", "topic": "coding"})
        started.raise_for_status()
        body = started.json()
        canary = f"canary{secrets.token_hex(6)}"
        auth = {"session_id": body["session_id"], "session_token": body["session_token"]}
        turn = http.post("/answer_text", json=auth | {"text": f"A list of nodes that point on, {canary}."})
        turn.raise_for_status()
        rated = http.post("/rate_turn", json=auth | {"turn_id": turn.json()["turn_id"], "rating": 4})
        rated.raise_for_status()
        people.append(
            Candidate(
                body["session_id"],
                body["session_token"],
                body["candidate_token"],
                [body["turn_id"], turn.json()["turn_id"]],
                canary,
            )
        )
    return people


def off_by_one(token: str) -> str:
    return token[:-1] + ("A" if token[-1] != "A" else "B")


def attempts(victim: Candidate, attacker: Candidate) -> list[tuple[str, str, dict, bool]]:
    """(label, route, body, sends audio) for every way the attacker might reach the victim."""
    foreign = [
        ("attacker's token", {"session_id": victim.session_id, "session_token": attacker.token}),
        (
            "token one character off",
            {"session_id": victim.session_id, "session_token": off_by_one(victim.token)},
        ),
        (
            "candidate token as session token",
            {"session_id": victim.session_id, "session_token": victim.candidate_token},
        ),
        ("unknown session id", {"session_id": secrets.token_hex(16), "session_token": attacker.token}),
        ("no token", {"session_id": victim.session_id, "session_token": ""}),
    ]
    out = []
    for label, auth in foreign:
        out += [
            (label, "/answer_text", auth | {"text": "mine now"}, False),
            (label, "/answer_text_stream", auth | {"text": "mine now"}, False),
            (label, "/answer_audio", auth, True),
            (label, "/answer_audio_stream", auth, True),
            (label, "/rate_turn", auth | {"turn_id": victim.turn_ids[-1], "rating": 1}, False),
            (label, "/session_report", auth, False),
        ]
    own = {"session_id": attacker.session_id, "session_token": attacker.token}
    for turn_id in victim.turn_ids:  # a valid session of one's own, pointed at someone else's turn
        out.append(
            ("own session, victim's turn", "/rate_turn", own | {"turn_id": turn_id, "rating": 1}, False)
        )
    for label, token in (("victim's session token", victim.token), ("victim's id", victim.session_id)):
        out.append((f"history with {label}", "/history", {"candidate_token": token}, False))
        start = {"role": "Software engineer", "candidate_token": token}
        out.append((f"new session claiming {label} as candidate", "/start_session", start, False))
    return out


def leaked(response: httpx.Response, route: str, sent: dict, others: list[Candidate]) -> str | None:
    body = response.text
    for other in others:
        for secret in (other.canary, other.session_id, *other.turn_ids, other.token, other.candidate_token):
            if secret in body and secret not in sent.values():  # an echo of the request is no leak
                return f"response carries another candidate's data ({secret[:8]}…)"
    if route not in OPEN_ROUTES and response.is_success:
        return f"answered {response.status_code} for a session the caller does not own"
    return None


def snapshot(database_url: str, people: list[Candidate]) -> dict[str, list]:
    engine = create_engine(database_url)
    with engine.connect() as db:
        state = {
            person.session_id: [
                tuple(row)
                for row in db.execute(
                    text(
                        "SELECT t.id, t.position, t.transcript, r.rating FROM turns t "
                        "LEFT JOIN ratings r ON r.turn_id = t.id WHERE t.session_id = :s ORDER BY t.position"
                    ),
                    {"s": person.session_id},
                )
            ]
            for person in people
        }
    engine.dispose()
    return state


def secrets_in_clear(database_file: Path, log_file: Path, people: list[Candidate]) -> dict[str, int]:
    # SQLite in WAL mode keeps recent writes beside the file: read both.
    database = b"".join(p.read_bytes() for p in database_file.parent.glob(database_file.name + "*"))
    log = log_file.read_bytes()
    tokens = [t for p in people for t in (p.token, p.candidate_token)]
    return {
        "tokens_in_service_log": sum(log.count(t.encode()) for t in tokens),
        "tokens_in_database": sum(database.count(t.encode()) for t in tokens),
    }


def cors(http: httpx.Client) -> dict[str, bool]:
    origin = {"Origin": "https://attacker.example"}
    preflight = http.options("/session_report", headers=origin | {"Access-Control-Request-Method": "POST"})
    simple = http.post("/catalogue", headers=origin)
    opened = [h for r in (preflight, simple) for h in HEADERS_THAT_OPEN_CORS if h in r.headers]
    return {"cross_origin_allowed": bool(opened)}


def token_quality(http: httpx.Client, samples: int) -> dict:
    tokens = [
        http.post("/start_session", json={"role": "Software engineer"}).json()["session_token"]
        for _ in range(samples)
    ]
    alphabet = set("".join(tokens))
    return {
        "samples": samples,
        "distinct": len(set(tokens)),
        "length_chars": min(len(t) for t in tokens),
        "alphabet_size": len(alphabet),
        # token_urlsafe: 6 bits a character; what the alphabet seen here can carry, at most
        "bits_at_most": min(len(t) for t in tokens) * 6,
    }


def audit(url: str, database_url: str, sessions: int) -> dict:
    http = httpx.Client(base_url=url, timeout=300)
    people = enrol(http, sessions)
    before = snapshot(database_url, people)
    clip = CLIP.read_bytes()
    by_status: Counter[int] = Counter()
    leaks = []
    pairs = list(itertools.permutations(people, 2))
    count = 0
    for victim, attacker in tqdm(pairs, desc="cross-session attempts", unit="pair"):
        others = [p for p in people if p is not attacker]
        for label, route, body, audio in attempts(victim, attacker):
            if audio:
                response = http.post(route, data=body, files={"audio": ("a.wav", clip, "audio/wav")})
            else:
                response = http.post(route, json=body)
            count += 1
            by_status[response.status_code] += 1
            if reason := leaked(response, route, body, others):
                leaks.append(
                    {"route": route, "attempt": label, "status": response.status_code, "why": reason}
                )
    after = snapshot(database_url, people)
    changed = [sid for sid in before if before[sid] != after[sid]]
    return {
        "sessions": sessions,
        "endpoints_attacked": sorted({route for _, route, _, _ in attempts(people[0], people[1])}),
        "attempts": count,
        "by_status": dict(sorted(by_status.items())),
        "leaks": leaks,
        "victim_sessions_changed": changed,
        "people": people,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sessions", type=int, default=4)
    parser.add_argument("--config", type=Path, default=REPO / "configs/serving.yaml")
    parser.add_argument("--output", type=Path, default=REPO / "bench/results/access.json")
    args = parser.parse_args()

    port = free_port()
    with tempfile.TemporaryDirectory() as work:
        database_file, log_file = Path(work) / "access.db", Path(work) / "service.log"
        database_url = f"sqlite:///{database_file}"
        with log_file.open("wb") as sink:
            process = start_service(port, config=args.config, database_url=database_url, log=sink)
            url = f"http://127.0.0.1:{port}"
            try:
                result = audit(url, database_url, args.sessions)
                http = httpx.Client(base_url=url, timeout=60)
                result |= {"cors": cors(http), "tokens": token_quality(http, 50)}
            finally:
                stop_service(process)
        result |= {"secrets_in_clear": secrets_in_clear(database_file, log_file, result.pop("people"))}
    result["goals"] = {
        "leaks": 0,
        "victim_sessions_changed": 0,
        "tokens_in_clear": 0,
        "token_bits_at_least": 128,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
