"""Prove a native decoding backend on this machine before anything trusts it.

A native library can die in ways Python cannot catch: SIGILL from an instruction the CPU
reports but cannot run (AMX on some cloud VMs), a segfault in a kernel. So the first use of
llama.cpp with a given build and model file happens in a child process. The child loads the
real model, evaluates a prompt as long as the longest one the interviewer can send (the
context window less the reply) and decodes a few tokens. A child killed by a signal, exiting
non-zero or outliving its timeout fails the check, and the caller falls back to the
transformers path with one log line saying why and what to do.

The verdict is cached under <cache>/preflight/, keyed by the build (SHA-256 of the native
libraries), the model file's SHA-256, the prompt length and the probe, so later starts cost
a few hashes. Timeouts are not cached: a machine that was busy may pass the next time.

    python -m mockmentor.interviewer.preflight --model models/interviewer/interviewer.gguf
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from mockmentor.model_assets import sha256_of

# The probe a child runs for each backend; MOCKMENTOR_PREFLIGHT_PROBE=module:function replaces
# it (the tests use that to make a child die by a real signal or hang).
PROBES = {"llama.cpp": "mockmentor.interviewer.preflight:probe_llama"}
TIMEOUT_S = 180.0
# The CPU flags a failed native backend is most likely about.
FLAGS_THAT_MATTER = (
    "avx", "f16c", "fma", "avx2", "bmi2", "avx_vnni", "avx512f", "avx512bw", "avx512vbmi",
    "avx512_vnni", "avx512_bf16", "amx_tile", "amx_int8", "amx_bf16",
)  # fmt: skip
# Filler for the long prompt: real interviewer-like text, tokenised by the model itself.
PROMPT_TEXT = (
    "Question: What is the role of a prototype program in problem solving? Answer: A prototype "
    "lets you test the main idea of a design early, before the whole program is written, so "
    "you can see whether the approach works and what the user really needs. Score: 3.5 out "
    "of 5. Covered: it simulates the behaviour of the final program. Missed: none. "
)


@dataclass(frozen=True)
class Verdict:
    backend: str
    ok: bool
    detail: str  # "ok", or what the child died of
    model: str
    model_sha256: str
    build: str
    prompt_tokens: int
    seconds: float
    system_info: str = ""  # what the native library says it was compiled with
    cached: bool = False

    @property
    def summary(self) -> str:
        state = "ok" if self.ok else f"FAILED ({self.detail})"
        return (
            f"{self.backend} preflight {state}: {self.prompt_tokens}-token prompt in {self.seconds:.1f} s, "
            f"build {self.build[:12]}, model {self.model_sha256[:12]}{' (cached)' if self.cached else ''}"
        )


def cpu_flags() -> list[str]:
    """The flags in /proc/cpuinfo that a native backend's failure is most likely about."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return []
    line = next((x for x in text.splitlines() if x.startswith("flags")), "")
    present = set(line.split(":", 1)[-1].split())
    return [flag for flag in FLAGS_THAT_MATTER if flag in present]


def native_build_id(backend: str) -> str:
    """SHA-256 over the backend's native libraries, without importing (loading) them."""
    if backend != "llama.cpp":
        return "n/a"
    spec = importlib.util.find_spec("llama_cpp")
    if spec is None or spec.origin is None:
        return "not-installed"
    digest = hashlib.sha256()
    for library in sorted((Path(spec.origin).parent / "lib").glob("*.so*")):
        digest.update(library.name.encode())
        digest.update(bytes.fromhex(sha256_of(library)))
    return digest.hexdigest()


def _cache_path(cache_dir: Path, *key: str) -> Path:
    return cache_dir / "preflight" / (hashlib.sha256("|".join(key).encode()).hexdigest()[:24] + ".json")


def _probe_name(backend: str) -> str:
    return os.environ.get("MOCKMENTOR_PREFLIGHT_PROBE") or PROBES[backend]


def describe_exit(code: int | None, timeout: float) -> str:
    if code is None:
        return f"no answer within {timeout:.0f} s (hung)"
    if code < 0:
        name = signal.Signals(-code).name
        meaning = {"SIGILL": "illegal instruction", "SIGSEGV": "segmentation fault", "SIGBUS": "bus error"}
        return f"killed by {name}" + (f", {meaning[name]}" if name in meaning else "")
    return f"exit code {code}"


def check(
    backend: str,
    model: Path,
    prompt_tokens: int,
    *,
    cache_dir: Path | None = None,
    timeout: float = TIMEOUT_S,
    recheck: bool = False,
) -> Verdict:
    """The backend's verdict on this machine for this model: from the cache, or run now."""
    from mockmentor.settings import get_settings

    cache_dir = cache_dir or get_settings().cache_dir
    probe = _probe_name(backend)
    build, model_sha = native_build_id(backend), sha256_of(model)
    path = _cache_path(cache_dir, backend, probe, build, model_sha, str(prompt_tokens))
    if path.is_file() and not recheck:
        return Verdict(**(json.loads(path.read_text()) | {"cached": True}))

    command = [sys.executable, "-m", "mockmentor.interviewer.preflight", "--child", "--backend", backend]
    command += ["--model", str(model), "--prompt-tokens", str(prompt_tokens)]
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ))
    try:
        out, err = child.communicate(timeout=timeout)
        code: int | None = child.returncode
    except subprocess.TimeoutExpired:
        child.kill()
        out, err = child.communicate()
        code = None
    seconds = time.perf_counter() - started
    report: dict = {}
    if code == 0:
        try:
            report = json.loads(out.decode().strip().splitlines()[-1])
        except (ValueError, IndexError):
            code = 1  # a clean exit without its report is not a pass
    detail = "ok" if code == 0 else describe_exit(code, timeout)
    if code not in (0, None) and code > 0 and err.strip():
        detail += f": {err.decode(errors='replace').strip().splitlines()[-1][:300]}"
    verdict = Verdict(
        backend=backend,
        ok=code == 0,
        detail=detail,
        model=str(model),
        model_sha256=model_sha,
        build=build,
        prompt_tokens=prompt_tokens,
        seconds=round(seconds, 2),
        system_info=report.get("system_info", ""),
    )
    if code is not None:  # a hang may be a busy machine: check again next time
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(verdict) | {"cached": False}, indent=2))
    return verdict


def fallback_message(verdict: Verdict, fallback: str) -> str:
    """The one line an operator reads: what failed, the signal, the CPU flags, what to do."""
    if (
        any(sig in verdict.detail for sig in ("SIGILL", "SIGSEGV", "SIGBUS"))
        or verdict.build == "not-installed"
    ):
        todo = (
            "rebuild it for this CPU with `make llama` (mockmentor/interviewer/llama_build.py: only "
            "the instruction sets this CPU proves it runs, never AMX), then restart"
        )
    elif verdict.detail.startswith("no answer"):
        todo = "check the machine's load, then restart to try again (hangs are not cached)"
    else:
        todo = "rebuild it with `make llama`; if it still fails, report the log with this line"
    return (
        f"the {verdict.backend} backend failed its preflight ({verdict.detail}) on {verdict.model} with a "
        f"{verdict.prompt_tokens}-token prompt; CPU flags: {' '.join(cpu_flags()) or 'unknown'}; "
        f"serving with {fallback} instead (slower). To fix: {todo}."
    )


def probe_llama(model: Path, prompt_tokens: int) -> dict:
    """Load the model, evaluate `prompt_tokens` of real text and decode a few tokens."""
    import llama_cpp

    threads = min(os.cpu_count() or 1, 8)
    llama = llama_cpp.Llama(
        model_path=str(model),
        n_ctx=prompt_tokens + 16,
        n_batch=512,
        n_threads=threads,
        n_threads_batch=threads,
        verbose=False,
    )
    unit = llama.tokenize(PROMPT_TEXT.encode(), add_bos=False)
    tokens = (unit * (prompt_tokens // len(unit) + 1))[:prompt_tokens]
    generated = []
    for token in llama.generate(tokens, top_k=1, top_p=1.0, temp=0.0, repeat_penalty=1.0, reset=True):
        generated.append(token)
        if len(generated) == 4:
            break
    info = llama_cpp.llama_print_system_info().decode(errors="replace")
    llama.close()
    return {"system_info": info.strip(), "generated": len(generated)}


def _child(backend: str, model: Path, prompt_tokens: int) -> None:
    module, function = _probe_name(backend).split(":")
    report = getattr(importlib.import_module(module), function)(model, prompt_tokens)
    print(json.dumps(report))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Prove a native decoding backend on this machine.")
    parser.add_argument("--backend", default="llama.cpp", choices=sorted(PROBES))
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--prompt-tokens", type=int, default=1952)
    parser.add_argument("--recheck", action="store_true", help="ignore a cached verdict")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if options.child:
        _child(options.backend, options.model, options.prompt_tokens)
        return
    verdict = check(options.backend, options.model, options.prompt_tokens, recheck=options.recheck)
    print(verdict.summary)
    if not verdict.ok:
        print(fallback_message(verdict, "transformers"))
        raise SystemExit(1)


if __name__ == "__main__":
    main()
