"""The one command line: `mockmentor <command>`; pipeline stages, model assets and the service.

DVC calls the stage commands (see dvc.yaml); people call them too, e.g. to re-run a stage
with another config. Errors a user can fix are printed as one line, never a traceback.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, Any

import typer

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("BENTOML_DO_NOT_TRACK", "true")

app = typer.Typer(
    help="MockMentor: AI mock interviews, trained and served from this repository.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

ConfigOption = Annotated[
    Path, typer.Option("--config", "-c", help="YAML recipe to read the stage section from")
]


def user_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the project's expected errors into a one-line message and exit code 2."""
    from mockmentor.config import ConfigError
    from mockmentor.data.schema import RecordError
    from mockmentor.model_assets import ModelAssetError

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (ConfigError, RecordError, ModelAssetError) as err:
            typer.secho(f"error: {err}", fg=typer.colors.RED, err=True)
            raise typer.Exit(2) from None

    return wrapper


@app.command()
@user_errors
def prepare(config: ConfigOption = Path("configs/data.yaml")) -> None:
    """DVC stage `prepare`: raw data -> validated records, splits and data/report.json."""
    from mockmentor.data.prepare import main

    report = main(config)
    typer.echo(json.dumps(report, indent=2))


@app.command()
@user_errors
def models(
    config: Annotated[Path, typer.Option("--config", "-c", help="model specs")] = Path("configs/models.yaml"),
) -> None:
    """Assemble, convert and verify every configured model, and list its status."""
    from mockmentor.model_assets import check, load_specs

    failed = False
    for name, spec in load_specs(config).items():
        status = check(name, spec)
        colour = {"verified": typer.colors.GREEN, "unpinned": typer.colors.YELLOW}.get(
            status.state, typer.colors.RED
        )
        typer.secho(f"{status.state:9} {name:17} {status.source}", fg=colour)
        typer.echo(f"          {status.role}\n          {status.detail}")
        failed |= status.state in ("missing", "refused")
    if failed:
        raise typer.Exit(1)


if __name__ == "__main__":
    app()
