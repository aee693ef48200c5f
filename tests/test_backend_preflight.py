"""The native backend is proven in a child process before anything trusts it.

CI's CPUs run every instruction they report, so the failures are made real by test-only
probes (tests/native_faults.py): a child that dies by an actual SIGILL, one that hangs. The
llama.cpp probe itself runs on the packaged SmolLM2 GGUF with the build `make` installed.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from conftest import REPO

from mockmentor.interviewer import llama_build
from mockmentor.interviewer.decoding import MAX_NEW_TOKENS, N_CTX, Interviewer, InterviewerFiles
from mockmentor.interviewer.preflight import check, cpu_flags, fallback_message

LONGEST_PROMPT = N_CTX - MAX_NEW_TOKENS


@pytest.fixture()
def fault_probe(monkeypatch: pytest.MonkeyPatch):
    """Select a probe from tests/native_faults.py for the preflight's child."""
    monkeypatch.setenv("PYTHONPATH", str(REPO / "tests"))

    def use(name: str) -> None:
        monkeypatch.setenv("MOCKMENTOR_PREFLIGHT_PROBE", f"native_faults:{name}")

    return use


@pytest.fixture(scope="module")
def base_gguf() -> Path:
    return InterviewerFiles.base().gguf


def test_the_isa_probe_tells_a_runnable_instruction_from_an_illegal_one() -> None:
    verdicts = llama_build.runnable_extensions(
        probes={
            "BASELINE": ("sse2", '__asm__ volatile("pxor %%xmm0, %%xmm0" ::: "xmm0");'),
            "ILLEGAL": ("sse2", '__asm__ volatile("ud2");'),
        }
    )
    assert verdicts == {"BASELINE": "ok", "ILLEGAL": "killed by SIGILL"}


def test_an_instruction_that_runs_but_is_not_reported_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    """A VM that runs an extension its CPUID hides may migrate to a host without it."""
    monkeypatch.setattr(llama_build, "reported_flags", lambda: {"sse2"})
    probes = {"SSE42": llama_build.PROBES["SSE42"]}
    assert llama_build.runnable_extensions(probes=probes) == {
        "SSE42": "not reported by the CPU (sse4_2 missing from /proc/cpuinfo)"
    }


def test_the_portable_build_names_only_what_this_cpu_runs_and_never_amx() -> None:
    chosen = llama_build.selected_extensions("auto")
    reported = set(cpu_flags()) | {"sse4_2"}
    names = {"SSE42": "sse4_2", "AVX512": "avx512f", "AVX512_VBMI": "avx512vbmi"}
    for flag in chosen:  # the probe never claims an extension the CPU does not even report
        assert names.get(flag, flag.lower()) in reported, flag
    args = llama_build.cmake_args(chosen)
    assert "-DGGML_NATIVE=OFF" in args
    assert all(f"-DGGML_{amx}=OFF" in args for amx in ("AMX_TILE", "AMX_INT8", "AMX_BF16"))
    assert not re.search(r"AMX_\w+=ON", args)


def test_the_installed_llama_cpp_passes_on_the_real_model_and_has_no_amx_kernels(
    base_gguf: Path, tmp_path: Path
) -> None:
    verdict = check("llama.cpp", base_gguf, LONGEST_PROMPT, cache_dir=tmp_path)
    assert verdict.ok, verdict.detail
    assert verdict.prompt_tokens == LONGEST_PROMPT and not verdict.cached
    # What the library says it was compiled with: `make` installs the portable build.
    assert "AVX" in verdict.system_info or "SSE" in verdict.system_info
    assert "AMX_INT8 = 1" not in verdict.system_info, verdict.system_info
    again = check("llama.cpp", base_gguf, LONGEST_PROMPT, cache_dir=tmp_path)
    assert again.cached and again.ok and again.seconds == verdict.seconds


def test_a_child_killed_by_sigill_fails_the_check_with_a_line_saying_what_to_do(
    fault_probe, base_gguf: Path, tmp_path: Path
) -> None:
    fault_probe("sigill")
    verdict = check("llama.cpp", base_gguf, LONGEST_PROMPT, cache_dir=tmp_path)
    assert not verdict.ok and verdict.detail == "killed by SIGILL, illegal instruction"
    line = fallback_message(verdict, "transformers")
    assert "\n" not in line
    for part in (
        "llama.cpp backend failed",
        "SIGILL",
        "CPU flags:",
        "serving with transformers",
        "make llama",
    ):
        assert part in line
    assert check("llama.cpp", base_gguf, LONGEST_PROMPT, cache_dir=tmp_path).cached  # a crash is kept


def test_a_hanging_child_is_stopped_at_its_timeout_and_not_cached(
    fault_probe, base_gguf: Path, tmp_path: Path
) -> None:
    fault_probe("hang")
    started = time.monotonic()
    verdict = check("llama.cpp", base_gguf, 64, cache_dir=tmp_path, timeout=4)
    assert time.monotonic() - started < 15
    assert not verdict.ok and verdict.detail == "no answer within 4 s (hung)"
    assert not list((tmp_path / "preflight").glob("*.json"))


def test_the_verdict_is_cached_per_build_and_model_file(
    fault_probe, monkeypatch: pytest.MonkeyPatch, base_gguf: Path, tmp_path: Path
) -> None:
    fault_probe("counted")
    runs = tmp_path / "runs"
    runs.mkdir()
    monkeypatch.setenv("NATIVE_FAULTS_RUNS", str(runs))
    model = tmp_path / "model.gguf"
    model.write_bytes(base_gguf.read_bytes()[: 1 << 20])
    cache = tmp_path / "cache"

    def verdict():
        return check("llama.cpp", model, 128, cache_dir=cache)

    assert not verdict().cached and verdict().cached
    assert len(list(runs.iterdir())) == 1
    with model.open("r+b") as handle:  # one byte of the model changes: check again
        handle.seek(1000)
        handle.write(bytes([handle.read(1)[0] ^ 0xFF]))
    assert not verdict().cached and len(list(runs.iterdir())) == 2
    # another build of the native library: check again
    monkeypatch.setattr("mockmentor.interviewer.preflight.native_build_id", lambda backend: "another-build")
    assert not verdict().cached and len(list(runs.iterdir())) == 3
    assert verdict().cached and len(list(runs.iterdir())) == 3


@pytest.mark.slow  # loads and runs the transformers interviewer
def test_the_interviewer_falls_back_to_transformers_when_llama_cpp_fails(
    fault_probe, caplog: pytest.LogCaptureFixture
) -> None:
    fault_probe("sigill")
    with caplog.at_level("ERROR", logger="mockmentor.interviewer"):
        interviewer = Interviewer(InterviewerFiles.base(), "llama.cpp", max_new_tokens=24)
    assert interviewer.backend == "transformers"
    assert (
        interviewer.status
        == "transformers (llama.cpp failed its preflight: killed by SIGILL, illegal instruction)"
    )
    [record] = caplog.records
    assert "SIGILL" in record.getMessage() and "serving with transformers" in record.getMessage()
    reply = interviewer.reply([{"role": "user", "content": "Ask me one question about stacks."}])
    assert len(reply.split()) >= 3
