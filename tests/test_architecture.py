"""The layout is the architecture: imports point down, and DVC knows every stage's code.

Layers, top to bottom (a module may import its own folder and anything below it):
  stage and service folders   data/ training/ evaluation/ serving/   never each other
  model packages              mockmentor/{scorer,interviewer,speech,coding}  never each other
  shared core                 mockmentor/*.py, mockmentor/{store,metrics}
mockmentor/cli.py sits above all of them: it is the one command line that calls them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from import_graph import REPO, closure, imports, module_file, module_name, stage_code

STAGE_FOLDERS = {"mockmentor.data", "mockmentor.training", "mockmentor.evaluation", "mockmentor.serving"}
MODEL_PACKAGES = {"mockmentor.scorer", "mockmentor.interviewer", "mockmentor.speech", "mockmentor.coding"}
CLI = "mockmentor.cli"


def home(module: str) -> str:
    """The folder (layer unit) a module belongs to."""
    for unit in STAGE_FOLDERS | MODEL_PACKAGES:
        if module == unit or module.startswith(unit + "."):
            return unit
    return CLI if module == CLI else "core"


def allowed(source: str, target: str) -> bool:
    src, dst = home(source), home(target)
    if src in (CLI, dst) or dst == "core":
        return True
    return src in STAGE_FOLDERS and dst in MODEL_PACKAGES


def project_files() -> list[Path]:
    folders = ["mockmentor", "data", "training", "evaluation", "serving"]
    return sorted(p for folder in folders for p in (REPO / folder).rglob("*.py"))


def test_imports_point_down_never_sideways_or_up() -> None:
    wrong = []
    for path in project_files():
        source = module_name(path)
        for target in imports(path):
            if not allowed(source, target):
                wrong.append(
                    f"{path.relative_to(REPO)}: {source} ({home(source)}) imports {target} ({home(target)})"
                )
    assert not wrong, "imports that point sideways or up:\n" + "\n".join(wrong)


def test_the_layer_check_catches_a_sideways_import() -> None:
    assert not allowed("mockmentor.data.collect_ratings", "mockmentor.serving.model_loading")
    assert not allowed("mockmentor.evaluation.evaluate_scorer", "mockmentor.training.train_scorer")
    assert not allowed("mockmentor.scorer.scorer", "mockmentor.interviewer.coverage")
    assert not allowed("mockmentor.records", "mockmentor.scorer.pairs")  # the core imports no model
    assert allowed("mockmentor.serving.interview", "mockmentor.interviewer.guard")
    assert allowed("mockmentor.cli", "mockmentor.serving.model_loading")


def test_the_graph_follows_lazy_and_relative_imports() -> None:
    """What the DVC check relies on: imports inside functions and `from .x import` are seen."""
    serving = imports(REPO / "serving" / "model_loading.py")
    assert "mockmentor.scorer.scorer" in serving  # imported inside load_models
    assert "mockmentor.serving.question_bank" in serving  # `from .question_bank import ...`
    files = {str(p.relative_to(REPO)) for p in closure(REPO / "training" / "train_scorer.py")}
    assert {
        "mockmentor/scorer/network.py",
        "mockmentor/__init__.py",
        "mockmentor/metrics/score_agreement.py",
    } <= files
    assert module_file("mockmentor.scorer") == REPO / "mockmentor" / "scorer" / "__init__.py"


STAGES = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_every_file_a_stage_runs_is_one_of_its_dvc_deps(stage: str) -> None:
    """`dvc repro` must rerun a stage whenever code it runs changes, and only then."""
    deps = [d for d in STAGES[stage].get("deps", []) if isinstance(d, str)]
    code = stage_code(stage)
    missing = [f for f in code if f not in deps]
    listed_code = [d for d in deps if d.endswith(".py")]
    stale = [d for d in listed_code if d not in code]
    assert not missing and not stale, (
        f"dvc.yaml stage {stage}: add {missing} and remove {stale} "
        f"(`python tests/import_graph.py {stage}` prints the full list)"
    )
