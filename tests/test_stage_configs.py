"""Every recipe in configs/ loads into its stage's typed config, and a bad value is named.

Fast (no model is loaded), so the fast tier exercises every stage folder's entry module on the
real recipes that `dvc repro` and `mockmentor serve` read.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import REPO

from mockmentor.config import ConfigError, load_section
from mockmentor.data.build_dialogues import BuildDialoguesConfig
from mockmentor.data.collect_ratings import CollectRatingsConfig
from mockmentor.data.prepare import PrepareConfig
from mockmentor.evaluation.evaluate_interviewer import EvaluateInterviewerConfig
from mockmentor.evaluation.evaluate_scorer import EvaluateScorerConfig
from mockmentor.serving.config import ServeConfig, load_serve_config
from mockmentor.training.train_interviewer import TrainInterviewerConfig
from mockmentor.training.train_scorer import TrainScorerConfig

RECIPES = [
    ("configs/data.yaml", "prepare", PrepareConfig),
    ("configs/data.yaml", "collect_ratings", CollectRatingsConfig),
    ("configs/scorer.yaml", "train_scorer", TrainScorerConfig),
    ("configs/scorer.yaml", "evaluate_scorer", EvaluateScorerConfig),
    ("configs/gpu/scorer.yaml", "train_scorer", TrainScorerConfig),
    ("configs/interviewer.yaml", "build_dialogues", BuildDialoguesConfig),
    ("configs/interviewer.yaml", "train_interviewer", TrainInterviewerConfig),
    ("configs/interviewer.yaml", "evaluate_interviewer", EvaluateInterviewerConfig),
    ("configs/gpu/interviewer.yaml", "train_interviewer", TrainInterviewerConfig),
    ("configs/serving.yaml", "serve", ServeConfig),
    ("configs/bento/serving.yaml", "serve", ServeConfig),
]


@pytest.mark.parametrize(("path", "section", "cls"), RECIPES, ids=[f"{p}:{s}" for p, s, _ in RECIPES])
def test_every_recipe_loads_into_its_stage_config(path: str, section: str, cls: type) -> None:
    config = load_section(REPO / path, section, cls)
    assert isinstance(config, cls)


def test_the_graders_bands_are_validated_where_they_are_set(tmp_path: Path) -> None:
    recipe = yaml.safe_load((REPO / "configs/interviewer.yaml").read_text())
    recipe["build_dialogues"] |= {"full_marks": 1.0, "wrong": 2.0}
    (tmp_path / "interviewer.yaml").write_text(yaml.safe_dump(recipe))
    with pytest.raises(ConfigError, match=r"section 'build_dialogues'.*wrong < full_marks"):
        load_section(tmp_path / "interviewer.yaml", "build_dialogues", BuildDialoguesConfig)


def test_an_overlay_changes_only_what_it_names_and_a_loop_is_named(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text(yaml.safe_dump({"serve": {"threads": 2, "keep_audio": False}}))
    (tmp_path / "overlay.yaml").write_text("extends: base.yaml\nserve:\n  threads: 8\n")
    from mockmentor.config import read_yaml

    assert read_yaml(tmp_path / "overlay.yaml") == {"serve": {"threads": 8, "keep_audio": False}}
    (tmp_path / "base.yaml").write_text("extends: overlay.yaml\nserve: {}\n")
    with pytest.raises(ConfigError, match="loops back"):
        read_yaml(tmp_path / "overlay.yaml")


def test_the_bento_overlay_serves_the_folders_the_pipeline_wrote() -> None:
    packed = load_serve_config(REPO / "configs/bento/serving.yaml")
    assert (packed.scorer, packed.interviewer) == ("models/scorer", "models/interviewer")
    assert packed.roles == load_serve_config(REPO / "configs/serving.yaml").roles


def test_the_evaluation_serves_the_held_out_replies_as_the_service_does() -> None:
    """The served column of evaluate_interviewer speaks the first sentence's opening clause ahead of
    it exactly when the service does: the guard then cuts a sentence it would otherwise skip."""
    serve = load_serve_config(REPO / "configs/serving.yaml")
    evaluation = load_section(
        REPO / "configs/interviewer.yaml", "evaluate_interviewer", EvaluateInterviewerConfig
    )
    assert evaluation.served_opening_words == (serve.first_clause_words if serve.early_opening else 0)
