"""Turn the four licensed interview-question banks into `Question` records.

The banks (data/raw/interview-banks, see its PROVENANCE.txt) are markdown written for
people, and each lays its questions out differently, so each format gets one small parser
that only finds the structure: where an item starts, what the question is and what the
answer is. Everything shared happens once, in `load_bank_questions`: HTML and images are
stripped, items the bank has not answered yet are counted and dropped, and every record
goes through `parse_record`, so a malformed item fails with the file and line it came from.

Ids are `<prefix>-<position of the item in its file>` (or the solution's folder name for
system design). Positions count unanswered items too, and the banks are pinned snapshots,
so an id names the same question on every run.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from mockmentor import REPO_ROOT
from mockmentor.records import Question, RecordError, parse_record

from .key_points import MAX_POINTS, plain_text, split_key_points


@dataclass(frozen=True)
class Item:
    """One question as a parser finds it; `answer` is "" when the bank has none yet."""

    line: int  # 1-based line of the question heading: what an error message points at
    key: str
    text: str
    answer: str
    difficulty: str | None = None


Parser = Callable[[Path], Iterator[Item]]


@dataclass(frozen=True)
class BankFile:
    pattern: str  # glob under the bank's folder
    topic: str
    prefix: str  # id prefix
    parse: Parser


@dataclass(frozen=True)
class BankSpec:
    source: str
    licence: str  # SPDX id
    folder: str  # under raw_dir
    files: tuple[BankFile, ...]


# -----------------------------------------------------------------------------
# markdown the parsers share

_FENCE = "```"
_CODE = re.compile(r"(```.*?```|`[^`\n]*`)", re.DOTALL)  # fenced blocks and inline code: never edited
_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)|<img\b[^>]*>", re.IGNORECASE)
_CITATION = re.compile(r"<sup>\s*<a\b[^>]*>.*?</a>\s*</sup>", re.IGNORECASE | re.DOTALL)
_SUP = re.compile(r"<sup>(.*?)</sup>", re.IGNORECASE | re.DOTALL)
_SUB = re.compile(r"<sub>(.*?)</sub>", re.IGNORECASE | re.DOTALL)
_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
_TAG = re.compile(r"</?[a-zA-Z][^>]*>")
_BLANK_RUN = re.compile(r"\n{3,}")
_BOLD = re.compile(r"\*\*")
_CODE_BODY = re.compile(r"```[^\n]*\n(.*?)```", re.DOTALL)
_LABEL_WORDS = 10  # prose shorter than this beside code blocks only labels them


def shown(path: Path) -> Path:
    """The path an error message names: relative to the repo root when the file is inside it."""
    return path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path


def blocks(lines: list[str], heading: re.Pattern[str]) -> Iterator[tuple[int, re.Match[str], list[str]]]:
    """Yield (line number, heading match, body lines) for each heading line outside code blocks.

    A body runs to the next heading, so a format's heading pattern also matches the section
    headings that must end an item; what comes before the first heading is preamble.
    """
    in_code = False
    current: tuple[int, re.Match[str]] | None = None
    body: list[str] = []
    for number, line in enumerate(lines, start=1):
        if line.startswith(_FENCE):
            in_code = not in_code
        match = None if in_code else heading.match(line)
        if match:
            if current:
                yield current[0], current[1], body
            current, body = (number, match), []
        elif current:
            body.append(line)
    if current:
        yield current[0], current[1], body


def clean(markdown: str) -> str:
    """Markdown without HTML tags or images, code untouched, trailing whitespace and blank runs removed."""
    pieces = _CODE.split(markdown)
    for i in range(0, len(pieces), 2):  # the odd pieces are code
        text = _IMAGE.sub("", pieces[i])
        text = _CITATION.sub("", text)  # "<sup><a href=...>1</a></sup>": a footnote link, not content
        text = _SUP.sub(r"^\1", text)  # O(n<sup>2</sup>) must not read as O(n2)
        text = _SUB.sub(r"_\1", text)
        text = _BREAK.sub("\n", text)
        text = _TAG.sub("", text).replace("&nbsp;", " ")
        pieces[i] = _BLANK_RUN.sub("\n\n", text)
    return "\n".join(line.rstrip() for line in "".join(pieces).strip().splitlines())


# -----------------------------------------------------------------------------
# alexeygrigorev/data-science-interviews, theory.md:
#   **What is regression? 👶**      (👶 easy, ⭐️ medium, 🚀 expert; answer paragraphs follow)

_THEORY_HEADING = re.compile(r"^\*\*(?P<prompt>.*)\*\*\s*$|^#{1,2}\s")
_LEVEL = re.compile(r"[\s\u200d]*(?P<mark>👶|⭐|🚀).*$")  # one heading reads "⭐️I": drop all after the mark
_LEVELS = {"👶": "easy", "⭐": "medium", "🚀": "hard"}
_PLACEHOLDER = "Answer here"  # what the bank writes under a question nobody has answered


def parse_dsi_theory(path: Path) -> Iterator[Item]:
    lines = path.read_text(encoding="utf-8").splitlines()
    headings = [block for block in blocks(lines, _THEORY_HEADING) if block[1]["prompt"] is not None]
    for position, (line, match, body) in enumerate(headings, start=1):
        prompt, difficulty = match["prompt"], None
        if level := _LEVEL.search(prompt):
            prompt, difficulty = prompt[: level.start()], _LEVELS[level["mark"]]
        answer = "\n".join(body).strip()
        if clean(answer) == _PLACEHOLDER:
            answer = ""
        yield Item(line, f"{position:03d}", prompt, answer, difficulty)


# -----------------------------------------------------------------------------
# alexeygrigorev/data-science-interviews, technical.md: numbered tasks under ## sections
#   **2) Factorial**. Calculate a factorial of a number
#   * `factorial(5)` = 120          <- examples: part of the task
#   ```python ...```                <- the first code block starts the solution
# The SQL section opens with the table schema, which its tasks cannot be answered without.

_TECHNICAL_HEADING = re.compile(r"^\*\*\d+\)(?P<prompt>.*)$|^##\s+(?P<section>.*)$")


def parse_dsi_technical(path: Path) -> Iterator[Item]:
    lines = path.read_text(encoding="utf-8").splitlines()
    context, position = "", 0
    for line, match, body in blocks(lines, _TECHNICAL_HEADING):
        if match["section"] is not None:
            context = "\n".join(body).strip()
            continue
        position += 1
        start = next((i for i, text in enumerate(body) if text.startswith(_FENCE)), len(body))
        task, solution = body[:start], body[start:]
        while task and not task[-1].strip():
            task.pop()
        # a one-line lead-in right above the code ("Brute force, O(n^2):") introduces the solution
        if task and task[-1].rstrip().endswith(":") and (len(task) == 1 or not task[-2].strip()):
            solution.insert(0, task.pop())
        task_text = "\n".join([_BOLD.sub("", match["prompt"]).strip(), *task])
        text = f"{context}\n\n{task_text}" if context else task_text
        yield Item(line, f"{position:03d}", text, "\n".join(solution).strip())


# -----------------------------------------------------------------------------
# yangshun/front-end-interview-handbook, {html,css,javascript}-questions.md:
#   ### What does a DOCTYPE do?     (answer follows, often with a "#### References" link list)

_HANDBOOK_HEADING = re.compile(r"^###(?!#)[ \t]*(?P<prompt>.*?)\s*$")
_SUBHEADING = re.compile(r"^#{1,6}\s")
_NOT_QUESTIONS = {"Other Answers"}  # a closing heading over links to other people's answers


def parse_handbook(path: Path) -> Iterator[Item]:
    lines = path.read_text(encoding="utf-8").splitlines()
    headings = [
        block for block in blocks(lines, _HANDBOOK_HEADING) if block[1]["prompt"] not in _NOT_QUESTIONS
    ]
    for position, (line, match, body) in enumerate(headings, start=1):
        prompt, answer = _BOLD.sub("", match["prompt"]), []
        skipping, in_code = False, False
        for text in body:
            if text.startswith(_FENCE):
                in_code = not in_code
            elif not in_code and _SUBHEADING.match(text):
                # reference links are citations, not answer content (and would become key points)
                skipping = text.strip() == "#### References"
            if not skipping:
                answer.append(text)
        # "### Make this work:" poses its task as the code block right under the heading
        first = next((i for i, text in enumerate(answer) if text.strip()), None)
        if prompt.endswith(":") and first is not None and answer[first].startswith(_FENCE):
            fences = [i for i in range(first + 1, len(answer)) if answer[i].startswith(_FENCE)]
            end = fences[0] if fences else len(answer)
            prompt = "\n\n".join([prompt, "\n".join(answer[first : end + 1])])
            answer = answer[end + 1 :]
        yield Item(line, f"{position:03d}", prompt, "\n".join(answer).strip())


# -----------------------------------------------------------------------------
# lydiahallie/javascript-questions, README.md: multiple choice, answer folded away
#   ###### 1. What's the output?
#   ```javascript ...```
#   - A: `Lydia` and `undefined`
#   <details><summary><b>Answer</b></summary> <p> #### Answer: D  <explanation> </p></details>

_QUIZ_HEADING = re.compile(r"^######\s*(?:\d+\.)?\s*(?P<prompt>.*?)\s*$")
_OPTION = re.compile(r"^- (?P<letter>[A-Z]): (?P<option>.*)$")
_CORRECT = re.compile(r"^#### Answer:\s*(?P<letter>[A-Z])\s*$")


def parse_js_quiz(path: Path) -> Iterator[Item]:
    lines = path.read_text(encoding="utf-8").splitlines()
    for position, (line, match, body) in enumerate(blocks(lines, _QUIZ_HEADING), start=1):
        fold = next((i for i, text in enumerate(body) if text.startswith("<details")), len(body))
        question = "\n".join([match["prompt"], *body[:fold]]).strip()
        options = {m["letter"]: m["option"] for text in body[:fold] if (m := _OPTION.match(text))}
        answer = ""
        details = body[fold:]
        verdict = next((i for i, text in enumerate(details) if _CORRECT.match(text)), None)
        if verdict is not None:
            letter = _CORRECT.match(details[verdict])["letter"]
            if letter not in options:
                problem = f"answer {letter} is not one of the options"
                raise RecordError(shown(path), line, "reference_answer", problem)
            end = next((i for i, text in enumerate(details) if text.startswith("</details>")), len(details))
            explanation = "\n".join(details[verdict + 1 : end]).strip()
            # a full stop after the option makes "which option is right" a key point of its own
            option = options[letter] if options[letter].endswith((".", "!", "?")) else f"{options[letter]}."
            answer = f"{letter}: {option}\n\n{explanation}"
        yield Item(line, f"{position:03d}", question, answer)


# -----------------------------------------------------------------------------
# donnemartin/system-design-primer, solutions/system_design/<problem>/README.md:
# one problem per file; the "# Design X" title is the question and the whole walk-through
# (use cases, constraints, high-level design, scaling) is the reference answer.

_TITLE = re.compile(r"^#(?!#)\s*(?P<prompt>.*?)\s*$")
_PRIMER_NOTE = re.compile(r"^\*Note: This document links directly to .*\*\s*$")  # navigation, not content


def parse_system_design(path: Path) -> Iterator[Item]:
    lines = path.read_text(encoding="utf-8").splitlines()
    for line, match, body in blocks(lines, _TITLE):
        answer = "\n".join(text for text in body if not _PRIMER_NOTE.match(text)).strip()
        yield Item(line, path.parent.name.replace("_", "-"), match["prompt"], answer)


# -----------------------------------------------------------------------------

BANKS: dict[str, BankSpec] = {
    "data-science-interviews": BankSpec(
        source="data-science-interviews",
        licence="CC-BY-4.0",
        folder="alexeygrigorev-data-science-interviews",
        files=(
            BankFile("theory.md", "ml-theory", "dsi-theory", parse_dsi_theory),
            BankFile("technical.md", "coding", "dsi-technical", parse_dsi_technical),
        ),
    ),
    "system-design-primer": BankSpec(
        source="system-design-primer",
        licence="CC-BY-4.0",
        folder="donnemartin-system-design-primer",
        # the primer's own README.md is a topic guide, not questions: only the solutions are parsed
        files=(BankFile("solutions/system_design/*/README.md", "system-design", "sdp", parse_system_design),),
    ),
    "front-end-interview-handbook": BankSpec(
        source="front-end-interview-handbook",
        licence="MIT",
        folder="yangshun-front-end-interview-handbook",
        files=(
            BankFile("html-questions.md", "html", "feh-html", parse_handbook),
            BankFile("css-questions.md", "css", "feh-css", parse_handbook),
            BankFile("javascript-questions.md", "javascript", "feh-js", parse_handbook),
        ),
    ),
    "javascript-questions": BankSpec(
        source="javascript-questions",
        licence="MIT",
        folder="lydiahallie-javascript-questions",
        files=(BankFile("README.md", "javascript-output", "jsq", parse_js_quiz),),
    ),
}


def answer_points(reference: str) -> list[str]:
    """The points of a reference answer; for a coding answer that is all code, its solutions.

    split_key_points leaves code out, and the few words around a coding answer's code only
    label it ("or", "Brute force, O(n^2):"), so those labels would be the points.
    """
    code = [m[1].strip() for m in _CODE_BODY.finditer(reference) if m[1].strip()]
    if code and len(plain_text(reference).split()) < _LABEL_WORDS:
        return code[:MAX_POINTS]
    return split_key_points(reference)


def load_bank_questions(raw_dir: Path) -> tuple[list[Question], dict[str, int]]:
    """Parse every bank under `raw_dir`: the answered questions, and per source how many had no answer."""
    questions: list[Question] = []
    dropped: dict[str, int] = {}
    seen: set[str] = set()
    for spec in BANKS.values():
        dropped[spec.source] = 0
        for bank_file in spec.files:
            paths = sorted((raw_dir / spec.folder).glob(bank_file.pattern))
            if not paths:
                raise FileNotFoundError(f"{raw_dir / spec.folder / bank_file.pattern}: no bank file")
            for path in paths:
                where = shown(path)
                for item in bank_file.parse(path):
                    reference = clean(item.answer)
                    if not reference:
                        dropped[spec.source] += 1
                        continue
                    record = parse_record(
                        Question,
                        {
                            "id": f"{bank_file.prefix}-{item.key}",
                            "source": spec.source,
                            "topic": bank_file.topic,
                            "text": clean(item.text),
                            "reference_answer": reference,
                            "key_points": answer_points(reference),
                            "licence": spec.licence,
                            "difficulty": item.difficulty,
                        },
                        file=where,
                        line=item.line,
                    )
                    if record.id in seen:
                        raise RecordError(where, item.line, "id", f"duplicate id {record.id!r}")
                    seen.add(record.id)
                    questions.append(record)
    return questions, dropped
