"""DVC stage `collect_ratings`: rated turns and candidates' own grades out of the interview database.

Reads only the `collect_ratings` section of configs/data.yaml and the database named by
MOCKMENTOR_DATABASE_URL (the service's). Writes
  data/collected/turns.jsonl     RatedTurn rows: the interviewer's prompt, its reply, the rating
                                 (build_dialogues trains on the well-rated ones)
  data/collected/answers.jsonl   Answer rows, source "collected": a transcript with the score its
                                 candidate said it deserved (train_scorer adds them to training)
  data/collected/report.json     what was exported and what was skipped, and why; and the
                                 mean rating of the feedback each interviewer version gave
                                 (also logged to MLflow, one metric per version)
Every row is validated with the same schema its reader uses, so a corrupt row (a rating out
of range, a score that is not a number, a prompt that is not a list of messages) stops here:
it is counted in the report, named by turn id and field on the console and in the MLflow
run's rejected_rows.json, and never reaches training. De-duplication happens in the readers
(build_dialogues, train_scorer), which also see files merged from several deployments.
The stage always runs (the database is outside DVC); downstream stages rerun only when the
exported files change.
"""

from __future__ import annotations

import json
import re
import statistics
from collections import defaultdict
from dataclasses import asdict, field
from pathlib import Path

from pydantic.dataclasses import dataclass

from mockmentor.config import STRICT, load_section
from mockmentor.records import Answer, R, RatedTurn, RecordError, parse_record
from mockmentor.settings import get_settings
from mockmentor.store.interviews import Store


@dataclass(config=STRICT)
class CollectRatingsConfig:
    turns: Path = field(metadata={"help": "rated interviewer turns (JSON lines, RatedTurn)"})
    answers: Path = field(metadata={"help": "answers with the candidate's own grade (JSON lines, Answer)"})
    report: Path = field(metadata={"help": "counts of exported and skipped rows (a DVC metric)"})


def main(config_path: Path = Path("configs/data.yaml")) -> dict:
    config = load_section(config_path, "collect_ratings", CollectRatingsConfig)
    store = Store.open(get_settings().database_url)
    counts = {
        "rated_turns": 0, "turns": 0, "answers": 0, "skipped_off_topic": 0, "skipped_plan_swapped": 0,
        "skipped_invalid": 0,
    }  # fmt: skip
    turns, answers, rejected = [], [], []
    ratings_by_interviewer: dict[str, list[int]] = defaultdict(list)

    def validated(model: type[R], row_of: str, **values: object) -> R | None:
        try:
            return parse_record(model, values, "interview database", 0)
        except RecordError as err:
            why = {"field": err.field, "problem": err.problem}
            rejected.append({"turn_id": row_of, "as": model.__name__, **why})
            print(f"rejected turn {row_of} as {model.__name__}: field '{err.field}': {err.problem}")
            return None

    for turn, rating in store.rated_turns():
        counts["rated_turns"] += 1
        if turn.kind == "feedback" and 1 <= rating.rating <= 5:  # how candidates find each version
            version = (turn.model_versions or {}).get("interviewer", "unknown")
            ratings_by_interviewer[str(version)].append(rating.rating)
        # An answer that did not address its question teaches neither model anything true.
        if turn.off_topic:
            counts["skipped_off_topic"] += 1
            continue
        # A feedback reply whose question the service swapped no longer answers its prompt's
        # "Follow-up" line; training on it would teach the model to ignore that line.
        if turn.kind == "feedback" and turn.reply_source == "model+plan":
            counts["skipped_plan_swapped"] += 1
        elif row := validated(
            RatedTurn,
            turn.id,
            turn_id=turn.id,
            kind=turn.kind,
            topic=turn.topic,
            messages=turn.prompt,
            reply=turn.reply,
            rating=rating.rating,
            candidate_score=rating.candidate_score,
        ):
            turns.append(row)
        graded = turn.kind == "feedback" and rating.candidate_score is not None and turn.transcript
        if graded and (
            answer := validated(
                Answer,
                turn.id,
                id=f"collected:{turn.id}",
                question_id=turn.question_id or "",
                text=turn.transcript,
                score=rating.candidate_score,
                source="collected",
            )
        ):
            answers.append(answer)
    counts["skipped_invalid"] = len(rejected)
    counts["turns"], counts["answers"] = len(turns), len(answers)
    for path, rows in ((config.turns, turns), (config.answers, answers)):
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as out:
            for row in rows:
                out.write(row.model_dump_json() + "\n")
    by_version = {
        version: {"feedback_turns": len(values), "mean_rating": round(statistics.mean(values), 3)}
        for version, values in sorted(ratings_by_interviewer.items())
    }
    config.report.parent.mkdir(parents=True, exist_ok=True)
    config.report.write_text(json.dumps(counts | {"ratings_by_interviewer": by_version}, indent=2) + "\n")

    from mockmentor.tracking import stage_run

    with stage_run("collect_ratings", asdict(config)):
        import mlflow

        mlflow.log_metrics({k: float(v) for k, v in counts.items()})
        # one series per interviewer version: metric names allow letters, digits and _-./ only
        mlflow.log_metrics(
            {
                f"mean_rating.{re.sub(r'[^A-Za-z0-9_./-]+', '_', version).strip('_')}": v["mean_rating"]
                for version, v in by_version.items()
            }
        )
        mlflow.log_dict(by_version, "ratings_by_interviewer.json")
        mlflow.log_dict({"rejected": rejected}, "rejected_rows.json")  # ids and fields, no transcripts
    return counts | {"ratings_by_interviewer": by_version}
