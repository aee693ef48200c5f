"""The written demonstration set: every turn keeps the contract, none leaks, and it is big and
varied enough to learn from (the checks the interviewer's training data must pass)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from mockmentor.data.demonstrations import Demonstration, diversity, files, load, records
from mockmentor.interviewer.leak import leaked_points
from mockmentor.interviewer.turn import VERDICTS, parse_turn
from mockmentor.records import RecordError

REPO = Path(__file__).resolve().parent.parent
FOLDER = REPO / "data/raw/demonstrations"


@pytest.fixture(scope="module")
def resolved(prepared_data: Path) -> tuple[dict, dict]:
    return records(prepared_data / "processed")


@pytest.fixture(scope="module")
def demos(resolved: tuple[dict, dict]) -> list[Demonstration]:
    return load(files(FOLDER), *resolved)  # raises, naming file, item and field, on any broken turn


def split_of(prepared_data: Path) -> dict[str, str]:
    uq = pd.read_parquet(prepared_data / "splits/uq.parquet").set_index("question_id")["fold"]
    bank = pd.read_parquet(prepared_data / "splits/bank.parquet").set_index("id")["split"]
    # configs/interviewer.yaml: UQ fold 0 is held out for evaluation, fold 1 for validation
    return {q: {0: "eval", 1: "val"}.get(int(f), "train") for q, f in uq.items()} | {
        q: {"test": "eval"}.get(s, s) for q, s in bank.items()
    }


def test_every_turn_keeps_the_contract_and_leaks_nothing(demos: list[Demonstration]) -> None:
    for demo in demos:
        turn = parse_turn(demo.turn.spoken("What is a binary tree?"), "feedback")
        assert 1 <= len(turn.lead) <= 2, demo.id
        assert not leaked_points(demo.turn.spoken(), demo.missed, demo.question, demo.answer), demo.id
        if demo.turn.verdict in ("partial", "off_track"):
            assert demo.hint_point in demo.missed, demo.id
        if demo.turn.verdict == "complete":
            assert not demo.missed, demo.id


def test_the_set_is_large_balanced_and_split_by_question(
    demos: list[Demonstration], prepared_data: Path
) -> None:
    split = split_of(prepared_data)
    mohler = Counter(split[d.question_id] for d in demos if d.source == "mohler")
    assert mohler["train"] >= 400 and mohler["val"] >= 100 and mohler["eval"] >= 100, mohler
    bank = Counter(split[d.question_id] for d in demos if d.source == "bank")
    assert bank["train"] > 0 and bank["eval"] > 0, bank
    assert {d.topic for d in demos if split[d.question_id] == "eval"} >= {
        "intro-programming",
        "ml-theory",
        "css",
    }
    verdicts = Counter(d.turn.verdict for d in demos)
    assert set(verdicts) == set(VERDICTS)
    for verdict in ("complete", "partial", "off_track"):  # complete, partial and wrong all well represented
        assert verdicts[verdict] >= 0.15 * len(demos), verdicts


def test_the_set_does_not_read_like_templates(demos: list[Demonstration]) -> None:
    report = diversity([d.turn.written for d in demos])
    assert report["distinct_trigrams_per_token"] >= 0.5, report
    top = report["top_openings"][0]
    assert top["count"] <= 0.05 * len(demos), top  # no opening starts more than one turn in twenty
    assert len({d.turn.written for d in demos}) == len(demos)  # no turn written twice


def test_a_broken_turn_is_named_by_file_item_and_field(resolved: tuple[dict, dict], tmp_path: Path) -> None:
    folder = tmp_path / "mohler"
    folder.mkdir()
    good = (
        "- answer: mohler-1.1.11\n  verdict: partial\n  covered: []\n  hint: 1\n"
        "  right: You're talking about the program as a whole.\n"
        "  ask: Who would you show a prototype to, and what would they see?\n"
    )
    cases = {
        # the answer key read aloud
        "  ask: Isn't it to simulate the behaviour of portions of the desired software product?\n": (
            r"x.yaml:2: field 'turn': gives away a missed key point"
        ),
        "  ask: Who sees it? And when?\n": r"x.yaml:2: field 'ask': expected exactly one question mark",
        "  hint: 7\n  ask: Who sees it first?\n": r"x.yaml:2: field 'hint': no key point 7",
    }
    for tail, error in cases.items():
        (folder / "x.yaml").write_text(
            good
            + "- answer: mohler-1.1.13\n  verdict: partial\n  covered: []\n"
            + ("" if "hint:" in tail else "  hint: 1\n")
            + "  right: That is a start.\n"
            + tail
        )
        with pytest.raises(RecordError, match=error):
            load([folder / "x.yaml"], *resolved)
    (folder / "x.yaml").write_text(good.replace("mohler-1.1.11", "mohler-99.9.9"))
    with pytest.raises(RecordError, match=r"x.yaml:1: field 'answer': no Mohler answer 'mohler-99.9.9'"):
        load([folder / "x.yaml"], *resolved)
    (folder / "x.yaml").write_text(good.replace("verdict: partial", "verdict: complete"))
    with pytest.raises(RecordError, match=r"x.yaml:1: field '<item>': a complete answer's turn"):
        load([folder / "x.yaml"], *resolved)
