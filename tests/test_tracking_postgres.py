"""MLflow with a PostgreSQL backend store and a separate artifact store, as a team would run it.

The same code paths the pipeline uses (stage_run, register, champion_dir) against CI's real
PostgreSQL: runs, params, metrics and tags land in the database, files in the artifact
store, and the registry's champion alias and checksums work there too.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import fresh_postgres_database
from sqlalchemy import create_engine, inspect

from mockmentor.model_assets import sha256_of

pytestmark = pytest.mark.slow  # scorer training


@pytest.fixture()
def mlflow_on_postgres(tmp_path: Path, settings_env) -> Iterator[tuple[str, Path]]:
    import mlflow

    before = mlflow.get_tracking_uri()
    with fresh_postgres_database() as url:
        settings_env(
            MLFLOW_TRACKING_URI=url, MOCKMENTOR_MLFLOW_ARTIFACT_ROOT=str(tmp_path / "artifact-store")
        )
        try:
            yield url, tmp_path / "artifact-store"
        finally:
            mlflow.set_tracking_uri(before)  # the database is dropped WITH (FORCE) afterwards


def test_runs_registry_and_artifacts_on_postgresql(
    mlflow_on_postgres: tuple[str, Path], tiny_scorer: Path
) -> None:
    import mlflow

    from mockmentor.registry import champion_dir, register
    from mockmentor.scorer.pyfunc import ScorerPyfunc
    from mockmentor.tracking import EXPERIMENT, stage_run

    url, artifact_store = mlflow_on_postgres
    with stage_run("train_scorer", {"recipe.max_steps": 8}) as run:
        mlflow.log_metrics({"val.pearson": 0.5})
        mlflow.log_text("calibration plot stand-in", "plots/note.txt")
        first = register("pg-scorer", tiny_scorer, ScorerPyfunc(), "val_pearson", 0.5)
    with stage_run("train_scorer", {"recipe.max_steps": 8}):
        worse = register("pg-scorer", tiny_scorer, ScorerPyfunc(), "val_pearson", 0.4)

    assert first.promoted and not worse.promoted  # the alias stays on the better version
    folder, version = champion_dir("pg-scorer")
    assert version == first.version
    assert sha256_of(folder / "encoder/model.safetensors") == sha256_of(
        tiny_scorer / "encoder/model.safetensors"
    )

    runs = mlflow.search_runs(experiment_names=[EXPERIMENT])
    assert len(runs) == 2 and set(runs["tags.dvc.stage"]) == {"train_scorer"}
    assert runs.set_index("run_id").loc[run.info.run_id, "metrics.val.pearson"] == 0.5
    # The database holds the tracking tables; the files went to the artifact store.
    tables = set(inspect(create_engine(url)).get_table_names())
    assert {"runs", "metrics", "registered_models", "model_versions"} <= tables
    assert list(artifact_store.glob(f"**/{run.info.run_id}/artifacts/plots/note.txt"))
    assert list(artifact_store.glob("**/encoder/model.safetensors"))
