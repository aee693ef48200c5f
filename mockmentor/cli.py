"""The one command line: `mockmentor <command>`; pipeline stages, model assets and the service.

DVC calls the stage commands (see dvc.yaml); people call them too, e.g. to re-run a stage
with another config. Errors a user can fix are printed as one line, never a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, Any

import typer

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
    from mockmentor.model_assets import ModelAssetError
    from mockmentor.records import RecordError
    from mockmentor.registry import ModelNotFound
    from mockmentor.store.interviews import DatabaseUnavailable

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (
            ConfigError,
            RecordError,
            ModelAssetError,
            DatabaseUnavailable,
            ModelNotFound,
            FileNotFoundError,
        ) as err:
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


@app.command("collect-ratings")
@user_errors
def collect_ratings(config: ConfigOption = Path("configs/data.yaml")) -> None:
    """DVC stage `collect_ratings`: rated turns and candidates' grades from the interview database."""
    from mockmentor.data.collect_ratings import main

    typer.echo(json.dumps(main(config), indent=2))


@app.command("build-robustness")
@user_errors
def build_robustness(config: ConfigOption = Path("configs/data.yaml")) -> None:
    """DVC stage `build_robustness`: answers that do not answer, for every question (scorer tests)."""
    from mockmentor.data.build_robustness import main

    typer.echo(json.dumps(main(config), indent=2))


@app.command("build-coding-problems")
@user_errors
def build_coding_problems(config: ConfigOption = Path("configs/data.yaml")) -> None:
    """DVC stage `build_coding_problems`: HumanEval's problems -> coding-round questions with a difficulty."""
    from mockmentor.data.build_coding_problems import main

    typer.echo(json.dumps(main(config), indent=2))


@app.command("train-scorer")
@user_errors
def train_scorer(config: ConfigOption = Path("configs/scorer.yaml")) -> None:
    """DVC stage `train_scorer`: fine-tune the answer scorer on human scores, register it."""
    from mockmentor.training.train_scorer import main

    typer.echo(json.dumps(main(config), indent=2))


@app.command("evaluate-scorer")
@user_errors
def evaluate_scorer(config: ConfigOption = Path("configs/scorer.yaml")) -> None:
    """DVC stage `evaluate_scorer`: scorer and baselines vs human graders (UA and UQ)."""
    from mockmentor.evaluation.evaluate_scorer import main

    _echo_protocols(main(config))


@app.command("evaluate-cross-encoder")
@user_errors
def evaluate_cross_encoder(config: ConfigOption = Path("configs/scorer.yaml")) -> None:
    """DVC stage `evaluate_cross_encoder`: a true cross-encoder on the scorer's protocols."""
    from mockmentor.evaluation.evaluate_cross_encoder import main

    _echo_protocols(main(config))


def _echo_protocols(report: dict) -> None:
    for protocol in ("ua", "uq"):
        for method, metrics in report.get(protocol, {}).items():
            typer.echo(
                f"{protocol}  {method:24} r={metrics['pearson']:.3f}  rmse={metrics['rmse']:.3f}  "
                f"qwk={metrics['qwk']:.3f}  coverage80={metrics['coverage80']}"
            )


@app.command("build-dialogues")
@user_errors
def build_dialogues(config: ConfigOption = Path("configs/interviewer.yaml")) -> None:
    """DVC stage `build_dialogues`: interviewer training turns from the real records."""
    from mockmentor.data.build_dialogues import main

    typer.echo(json.dumps(main(config), indent=2))


@app.command("check-demonstrations")
@user_errors
def check_demonstrations(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="files to check (default: all of data/raw/demonstrations)")
    ] = None,
    processed: Annotated[Path, typer.Option(help="records written by `prepare`")] = Path("data/processed"),
) -> None:
    """Hold written demonstration turns to the turn contract and the leak rule; print their diversity."""
    from mockmentor.data.demonstrations import VERDICTS, files, load
    from mockmentor.data.demonstrations import records as processed_records
    from mockmentor.interviewer.turn_diversity import diversity

    questions, answers = processed_records(processed)
    demos = load(paths or files(Path("data/raw/demonstrations")), questions, answers)
    counts = {v: sum(d.turn.verdict == v for d in demos) for v in VERDICTS}
    typer.echo(
        json.dumps(
            {"checked": len(demos), "verdicts": counts, **diversity([d.turn.written for d in demos])},
            indent=2,
        )
    )


@app.command("train-interviewer")
@user_errors
def train_interviewer(config: ConfigOption = Path("configs/interviewer.yaml")) -> None:
    """DVC stage `train_interviewer`: LoRA fine-tune of the interviewer LLM, GGUF export, register."""
    from mockmentor.training.train_interviewer import main

    typer.echo(json.dumps(main(config), indent=2))


@app.command("evaluate-interviewer")
@user_errors
def evaluate_interviewer(config: ConfigOption = Path("configs/interviewer.yaml")) -> None:
    """DVC stage `evaluate_interviewer`: base vs tuned interviewer on held-out questions."""
    from mockmentor.evaluation.evaluate_interviewer import main

    report = main(config)
    for model, metrics in report["models"].items():
        typer.echo(f"{model:12} " + "  ".join(f"{k}={v}" for k, v in metrics.items()))


@app.command("compare-interviewer-bases")
@user_errors
def compare_interviewer_bases(config: ConfigOption = Path("configs/interviewer.yaml")) -> None:
    """DVC stage `compare_interviewer_bases`: training cost, latency and untuned quality per base."""
    from mockmentor.evaluation.compare_interviewer_bases import main

    typer.echo(json.dumps(main(config), indent=2))


@app.command("evaluate-end-of-turn")
@user_errors
def evaluate_end_of_turn(config: ConfigOption = Path("configs/serving.yaml")) -> None:
    """DVC stage `evaluate_end_of_turn`: when a hands-free answer may end, fitted on real answers."""
    from mockmentor.evaluation.evaluate_end_of_turn import main

    report = main(config)
    model, silence = report["sentence_end_model"], report["silence_alone"]
    typer.echo(
        f"held-out questions: cut in on {model['cut_in_rate']:.1%} of thinking pauses "
        f"(silence alone: {silence['cut_in_rate']:.0%}), whole answers end early in "
        f"{model['finished_recognised']:.1%}; AUC {model['auc']:.3f}; threshold {report['threshold']:.3f}"
    )


@app.command("evaluate-code-feedback")
@user_errors
def evaluate_code_feedback(config: ConfigOption = Path("configs/interviewer.yaml")) -> None:
    """DVC stage `evaluate_code_feedback`: the plan's words on a failing run against models'."""
    from mockmentor.evaluation.evaluate_code_feedback import main

    report = main(config)
    for name, measured in report["replies"].items():
        typer.echo(f"{name}: {measured}")
    for name, judged in report["judged_against_plan"].items():
        low, high = judged["ci95"]
        typer.echo(f"{name} over the plan: win rate {judged['win_rate']:.3f} (95 % CI {low:.3f}-{high:.3f})")
    typer.echo(f"shipped: {report['shipped']}")


@app.command("judge-interviewer")
@user_errors
def judge_interviewer(config: ConfigOption = Path("configs/interviewer.yaml")) -> None:
    """DVC stage `judge_interviewer`: blind pairwise preference between interviewers' turns."""
    from mockmentor.evaluation.judge_interviewer import main

    report = main(config)
    for name, result in report["comparisons"].items():
        low, high = result["ci95"]
        typer.echo(f"{name}: win rate {result['win_rate']:.3f} (95 % CI {low:.3f}-{high:.3f}), {result}")


@app.command()
@user_errors
def score(
    answer: Annotated[str, typer.Option(help="the candidate's answer")],
    question: Annotated[str, typer.Option(help="the question asked")],
    reference: Annotated[str, typer.Option(help="the answer a grader expects")],
    question_id: Annotated[
        str | None, typer.Option(help="a question with graded answers on file, e.g. mohler-1.1")
    ] = None,
    model_dir: Annotated[
        Path | None, typer.Option(help="a scorer folder; default: the registry's champion")
    ] = None,
) -> None:
    """Score one answer with the champion scorer: prints {score, low, high, off_topic, evidence} as JSON."""
    from pydantic import ValidationError

    from mockmentor.scorer.scorer import AnswerScorer

    scorer = AnswerScorer(model_dir) if model_dir else AnswerScorer.champion()[0]
    request = {"question": question, "reference": reference, "answer": answer, "question_id": question_id}
    try:
        [result] = scorer.score([request])
    except ValidationError as err:
        problem = err.errors()[0]
        typer.secho(f"error: {problem['loc'][0]}: {problem['msg']}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    typer.echo(result.model_dump_json())


@app.command("run-code")
@user_errors
def run_code(
    solution: Annotated[Path, typer.Argument(help="a Python file with the candidate's solution")],
    problem: Annotated[str, typer.Option(help="a coding problem id, e.g. HumanEval/0")],
    problems: Annotated[Path, typer.Option(help="written by build_coding_problems")] = Path(
        "data/coding/problems.jsonl"
    ),
) -> None:
    """Run a solution against a coding problem's tests in the sandbox, after its preflight."""
    from mockmentor.coding.problems import load_problems
    from mockmentor.coding.sandbox import Sandbox, SandboxUnavailable, load_sandbox_limits

    known = load_problems(problems)
    if problem not in known:
        raise typer.BadParameter(f"no problem '{problem}' in {problems} (e.g. {next(iter(known))})")
    try:
        sandbox = Sandbox(load_sandbox_limits())
        sandbox.preflight()
    except SandboxUnavailable as err:
        typer.secho(f"error: {err}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    chosen = known[problem]
    result = sandbox.run(solution.read_bytes(), chosen.test, chosen.entry_point)
    typer.echo(json.dumps(result.to_dict(), indent=2))
    raise typer.Exit(0 if result.status == "passed" else 1)


@app.command()
@user_errors
def serve(
    port: Annotated[int, typer.Option(help="TCP port")] = 3000,
    host: Annotated[str, typer.Option(help="address to listen on (0.0.0.0: every interface)")] = "127.0.0.1",
) -> None:
    """Start the voice-interview service (BentoML) with the page at http://HOST:PORT/app/."""
    import subprocess
    import sys

    from mockmentor import REPO_ROOT
    from mockmentor.serving.config import load_serve_config
    from mockmentor.serving.model_loading import preflight

    verdict = preflight(load_serve_config())
    if verdict is not None:
        _echo_verdict(verdict)
    typer.echo(f"MockMentor: open http://{host}:{port}/app/  (API docs at http://{host}:{port}/)")
    command = [sys.executable, "-m", "bentoml", "serve", "mockmentor.serving.service:MockMentor"]
    raise typer.Exit(subprocess.call([*command, "--host", host, "--port", str(port)], cwd=REPO_ROOT))


def _echo_verdict(verdict: Any) -> None:
    from mockmentor.interviewer.preflight import fallback_message

    typer.secho(verdict.summary, fg=typer.colors.GREEN if verdict.ok else typer.colors.RED)
    if not verdict.ok:
        typer.secho(fallback_message(verdict, "transformers"), fg=typer.colors.RED, err=True)


@app.command()
@user_errors
def models(
    config: Annotated[Path, typer.Option("--config", "-c", help="model specs")] = Path("configs/models.yaml"),
    recheck: Annotated[bool, typer.Option(help="run the decoding backend's preflight again")] = False,
) -> None:
    """Assemble, convert and verify every configured model, list its status, and prove the
    interviewer's native decoding backend (llama.cpp) on this machine."""
    from mockmentor.interviewer.decoding import MAX_NEW_TOKENS, N_CTX
    from mockmentor.interviewer.preflight import check as preflight
    from mockmentor.model_assets import check, load_specs

    failed = False
    for name, spec in load_specs(config).items():
        status = check(name, spec)
        colour = {"verified": typer.colors.GREEN, "unpinned": typer.colors.YELLOW}.get(
            status.state, typer.colors.RED
        )
        typer.secho(f"{status.state:9} {name:17} {status.source}", fg=colour)
        typer.echo(f"          {status.role}\n          {status.detail}")
        failed |= status.state in ("missing", "refused", "failed")
    if failed:
        raise typer.Exit(1)
    # Prove llama.cpp on every GGUF this machine has: the packaged bases, the judge and, once the
    # pipeline has registered one, the served model. A native crash here is a verdict, not a crash.
    from mockmentor.model_assets import gguf_path

    ggufs = {
        name: gguf_path(name)
        for name, spec in load_specs(config).items()
        if any(f.endswith(".gguf") for f in spec.sha256)
    }
    served = _served_interviewer_gguf()
    if served is not None:
        ggufs["served interviewer"] = served
    for label, gguf in ggufs.items():
        typer.echo(f"{label}: ", nl=False)
        _echo_verdict(preflight("llama.cpp", gguf, N_CTX - MAX_NEW_TOKENS, recheck=recheck))


def _served_interviewer_gguf() -> Path | None:
    """The GGUF `mockmentor serve` would load, if the pipeline has produced it yet."""
    from mockmentor.registry import ModelNotFound
    from mockmentor.serving.config import load_serve_config
    from mockmentor.serving.model_loading import interviewer_files

    config = load_serve_config()
    if config.interviewer_backend != "llama.cpp" or config.interviewer.startswith("base:"):
        return None
    try:
        return interviewer_files(config)[0].gguf
    except (ModelNotFound, FileNotFoundError):
        return None  # nothing registered yet: `dvc repro` trains it


if __name__ == "__main__":
    app()
