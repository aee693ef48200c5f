"""Parse the Mohler 2011 (UNT CS short-answer v2.0) release into Question and Answer records.

Layout of the release (see data/raw/mohler2011/README):
  data/raw/questions, data/raw/answers   "x.y text" — question and instructor answer
  data/raw/x.y                           "x.y text" — one student answer per line
  data/scores/x.y/{other,me,ave}         one grade per line, same order as data/raw/x.y
  data/docs/files                        every question id; a leading '#' marks the six
                                         selection-style questions published work leaves out
`ave` is the gold label (0–5). Grader 1 ("other", the TA) and grader 2 ("me") graded the
two exams (assignments 11 and 12) on 0–10; we halve those so both graders share the 0–5 scale.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from mockmentor.records import Answer, Question, RecordError, parse_record

from .key_points import split_key_points

SOURCE = "mohler2011"
LICENCE = "none stated; research and education use, cite Mohler et al. (ACL-HLT 2011)"
TOPIC = "intro-programming"
EXAM_ASSIGNMENTS = {11, 12}
_BREAKS = re.compile(r"<br\s*/?>", re.IGNORECASE)


@dataclass(frozen=True)
class MohlerQuestion:
    question: Question
    assignment: int
    ignored_in_paper: bool


def _numbered_lines(path: Path) -> list[tuple[int, str, str]]:
    """(line number, question id, text) for each non-blank 'x.y text' line."""
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        qid, _, text = line.partition(" ")
        if not re.fullmatch(r"\d+\.\d+", qid):
            raise RecordError(path, number, "question_id", f"expected 'x.y text', got {line[:40]!r}")
        rows.append((number, qid, " ".join(_BREAKS.sub(" ", text).split())))
    return rows


def _grades(path: Path, scale: float) -> list[float]:
    grades = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        try:
            grades.append(float(line) * scale)
        except ValueError:
            raise RecordError(path, number, "score", f"not a number: {line!r}") from None
    return grades


def load_questions(release: Path) -> list[MohlerQuestion]:
    """All 87 questions, with the instructor answer as reference and its key points."""
    listed = (release / "data/docs/files").read_text(encoding="utf-8").split()
    ignored = {name.lstrip("#") for name in listed if name.startswith("#")}
    references = {qid: text for _, qid, text in _numbered_lines(release / "data/raw/answers")}
    questions_file = release / "data/raw/questions"
    questions = []
    for line, qid, text in _numbered_lines(questions_file):
        reference = references.get(qid, "")
        record = {
            "id": f"mohler-{qid}",
            "source": SOURCE,
            "topic": TOPIC,
            "text": text,
            "reference_answer": reference,
            "key_points": split_key_points(reference) if reference else [],
            "licence": LICENCE,
        }
        questions.append(
            MohlerQuestion(
                question=parse_record(Question, record, questions_file, line),
                assignment=int(qid.split(".")[0]),
                ignored_in_paper=qid in ignored,
            )
        )
    return questions


def load_answers(release: Path, question_ids: list[str]) -> list[Answer]:
    """Every student answer with grader 1, grader 2 (both 0–5) and the gold average."""
    answers = []
    for qid in question_ids:
        number = qid.removeprefix("mohler-")
        raw_file = release / "data/raw" / number
        scores_dir = release / "data/scores" / number
        scale = 0.5 if int(number.split(".")[0]) in EXAM_ASSIGNMENTS else 1.0
        texts = _numbered_lines(raw_file)
        gold = _grades(scores_dir / "ave", 1.0)
        grader1 = _grades(scores_dir / "other", scale)
        grader2 = _grades(scores_dir / "me", scale)
        if not len(texts) == len(gold) == len(grader1) == len(grader2):
            raise RecordError(
                scores_dir,
                1,
                "score",
                f"{len(texts)} answers in {raw_file.name} but {len(gold)}/{len(grader1)}/{len(grader2)} "
                "grades in ave/other/me",
            )
        for index, (line, line_qid, text) in enumerate(texts):
            if line_qid != number:
                raise RecordError(raw_file, line, "question_id", f"expected {number}, got {line_qid}")
            record = {
                "id": f"mohler-{number}.{index}",
                "question_id": qid,
                "text": text,
                "score": gold[index],
                "grader1": grader1[index],
                "grader2": grader2[index],
                "source": SOURCE,
            }
            answers.append(parse_record(Answer, record, raw_file, line))
    return answers
