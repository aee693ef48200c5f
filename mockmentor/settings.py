"""Deployment settings: where things live on this machine, read from the environment.

Model and training choices belong in `configs/`; only paths and URLs that differ between
machines come from environment variables (all prefixed MOCKMENTOR_, except MLflow's own).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from platformdirs import user_cache_dir
from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from mockmentor import REPO_ROOT


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MOCKMENTOR_", extra="ignore")

    cache_dir: Path = Field(
        default=Path(user_cache_dir("mockmentor")),
        description="Assembled and converted model weights (MOCKMENTOR_CACHE_DIR).",
    )
    mlflow_tracking_uri: str = Field(
        default=f"sqlite:///{REPO_ROOT / 'mlflow.db'}",
        validation_alias=AliasChoices("MLFLOW_TRACKING_URI", "MOCKMENTOR_MLFLOW_TRACKING_URI"),
        description="MLflow backend store; a SQLite file by default so the model registry works.",
    )
    database_url: str = Field(
        default=f"sqlite:///{REPO_ROOT / 'mockmentor.db'}",
        description="Interview database (MOCKMENTOR_DATABASE_URL), e.g. postgresql+psycopg://host/db.",
    )
    serving_config: Path = Field(
        default=REPO_ROOT / "configs" / "serving.yaml",
        description="The service's recipe (MOCKMENTOR_SERVING_CONFIG).",
    )
    mlflow_artifact_root: str = Field(
        default=str(REPO_ROOT / "mlartifacts"),
        description="Artifact store for the experiment when it is created on a database store: a "
        "folder, or a URI such as s3://bucket/mockmentor (a tracking server keeps its own).",
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
