"""Build llama-cpp-python portably: only the instruction sets this CPU reports and proves, never AMX.

pip's default build of llama-cpp-python compiles ggml with `-march=native`, which pulls in
every instruction set the CPU *reports*. Some VMs report AMX (and sometimes AVX-512) without
letting a process run it, and the first long prompt then dies with SIGILL. So this script:

  1. runs one instruction of each x86 extension ggml can use, each in its own child process,
     and keeps the extensions whose child exits cleanly (a VM that lies fails here, not later)
     and that the CPU also reports (a VM can run what its CPUID hides, and may then migrate to
     a host that cannot: seen on a Xeon VM that runs AVX-VNNI and AVX512-BF16 unreported);
  2. builds the wheel with `GGML_NATIVE=OFF` and exactly those extensions named, AMX always off
     (ggml's runtime dispatch picks its AMX variant from CPUID alone, so it is no safer);
  3. caches the wheel under the model cache, keyed by version, flags and compiler, and
     installs it into the given Python with --force-reinstall (pip's own wheel cache is keyed
     by the source alone and would hand back a native build).

`--isa x86-64-v3` (AVX2/FMA/F16C/BMI2) or `x86-64-v4` builds for a fleet instead of this
machine, e.g. in a container image that will run elsewhere. Whatever is built, the
interviewer.s preflight (mockmentor/interviewer/preflight.py) proves it on the real model before
anything trusts it. Standard library only: this runs before the project is installed.

  python mockmentor/interviewer/llama_build.py flags             # what this CPU runs, and the CMake flags
  python mockmentor/interviewer/llama_build.py install --python .venv/bin/python
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

VERSION = "0.3.36"
# One instruction of each extension, in the order ggml's flags imply one another. Each probe is
# a function compiled for that extension alone; `main` runs the one named in argv.
PROBES: dict[str, tuple[str, str]] = {
    # ggml flag: (gcc target, statement run under it)
    "SSE42": (
        "sse4.2",
        'unsigned r = 0; __asm__ volatile("crc32b %1, %0" : "+r"(r) : "r"((char)1)); sink = r;',
    ),
    "AVX": ("avx", '__asm__ volatile("vxorps %%ymm0, %%ymm0, %%ymm0" ::: "xmm0");'),
    "F16C": ("f16c", '__asm__ volatile("vcvtph2ps %%xmm0, %%ymm0" ::: "xmm0");'),
    "FMA": ("fma", '__asm__ volatile("vfmadd231ps %%ymm0, %%ymm0, %%ymm0" ::: "xmm0");'),
    "AVX2": ("avx2", '__asm__ volatile("vpaddd %%ymm0, %%ymm0, %%ymm0" ::: "xmm0");'),
    "BMI2": ("bmi2", 'unsigned long r; __asm__ volatile("pdep %1, %1, %0" : "=r"(r) : "r"(3UL)); sink = r;'),
    "AVX_VNNI": ("avxvnni", '__asm__ volatile("%{vex%} vpdpbusd %%ymm0, %%ymm0, %%ymm0" ::: "xmm0");'),
    # GGML_AVX512 turns on F, CD, VL, DQ and BW: run one of each.
    "AVX512": (
        "avx512f,avx512cd,avx512vl,avx512dq,avx512bw",
        '__asm__ volatile("vpaddd %%zmm0, %%zmm0, %%zmm0\\n\\tvplzcntd %%zmm0, %%zmm0\\n\\t'
        "vpaddb %%ymm16, %%ymm16, %%ymm16\\n\\tvandpd %%zmm0, %%zmm0, %%zmm0\\n\\t"
        'vpaddb %%zmm0, %%zmm0, %%zmm0" ::: "xmm0", "xmm16");',
    ),
    "AVX512_VBMI": ("avx512vbmi", '__asm__ volatile("vpermb %%zmm0, %%zmm0, %%zmm0" ::: "xmm0");'),
    "AVX512_VNNI": ("avx512vnni", '__asm__ volatile("vpdpbusd %%zmm0, %%zmm0, %%zmm0" ::: "xmm0");'),
    "AVX512_BF16": ("avx512bf16", '__asm__ volatile("vdpbf16ps %%zmm0, %%zmm0, %%zmm0" ::: "xmm0");'),
}
# An extension is only used when those it builds on are usable too.
REQUIRES = {
    "AVX": ["SSE42"],
    "F16C": ["AVX"],
    "FMA": ["AVX"],
    "AVX2": ["AVX", "FMA", "F16C"],
    "BMI2": [],
    "AVX_VNNI": ["AVX2"],
    "AVX512": ["AVX2"],
    "AVX512_VBMI": ["AVX512"],
    "AVX512_VNNI": ["AVX512"],
    "AVX512_BF16": ["AVX512"],
}
# What the CPU must also report (CPUID, in /proc/cpuinfo's names) before a probe that runs
# counts: a VM can run an instruction its CPUID hides, and may then move to a host without it.
REPORTED = {
    "SSE42": ["sse4_2"], "AVX": ["avx"], "F16C": ["f16c"], "FMA": ["fma"], "AVX2": ["avx2"],
    "BMI2": ["bmi2"], "AVX_VNNI": ["avx_vnni"],
    "AVX512": ["avx512f", "avx512cd", "avx512vl", "avx512dq", "avx512bw"],
    "AVX512_VBMI": ["avx512vbmi"], "AVX512_VNNI": ["avx512_vnni"], "AVX512_BF16": ["avx512_bf16"],
}  # fmt: skip
LEVELS = {
    "x86-64-v2": ["SSE42"],
    "x86-64-v3": ["SSE42", "AVX", "F16C", "FMA", "AVX2", "BMI2"],
    "x86-64-v4": ["SSE42", "AVX", "F16C", "FMA", "AVX2", "BMI2", "AVX512"],
}
# Never compiled in, whatever the CPU says: see the module docstring.
ALWAYS_OFF = ["AMX_TILE", "AMX_INT8", "AMX_BF16"]


def _probe_source(probes: dict[str, tuple[str, str]]) -> str:
    functions, cases = [], []
    for flag, (target, statement) in probes.items():
        functions.append(
            f'__attribute__((target("{target}"))) static void probe_{flag}(void) {{ {statement} }}'
        )
        cases.append(f'    if (!strcmp(argv[1], "{flag}")) {{ probe_{flag}(); return 0; }}')
    return "\n".join(
        [
            "#include <string.h>",
            "static volatile unsigned long sink;",
            *functions,
            "int main(int argc, char **argv) {",
            "    if (argc < 2) return 2;",
            *cases,
            "    return 2;",
            "}",
        ]
    )


def reported_flags() -> set[str] | None:
    """The CPU flags /proc/cpuinfo lists, or None where there is no such file."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return None
    line = next((x for x in text.splitlines() if x.startswith("flags")), "")
    return set(line.split(":", 1)[-1].split())


def runnable_extensions(compiler: str = "cc", probes: dict[str, tuple[str, str]] = PROBES) -> dict[str, str]:
    """Each extension's verdict on this machine: 'ok', or why it cannot be used."""
    if platform.machine() not in ("x86_64", "AMD64"):
        return {}
    verdicts: dict[str, str] = {}
    reported = reported_flags()
    with tempfile.TemporaryDirectory(prefix="mockmentor-isa-") as folder:
        source, binary = Path(folder) / "probe.c", Path(folder) / "probe"
        source.write_text(_probe_source(probes))
        built = subprocess.run(
            [compiler, "-O0", "-o", str(binary), str(source)], capture_output=True, text=True
        )
        if built.returncode != 0:
            raise SystemExit(f"llama_build: the CPU probe did not compile with {compiler}:\n{built.stderr}")
        for flag in probes:
            missing = [need for need in REQUIRES.get(flag, []) if verdicts.get(need) != "ok"]
            if missing:
                verdicts[flag] = f"needs {', '.join(missing)}"
                continue
            hidden = [
                name for name in REPORTED.get(flag, []) if reported is not None and name not in reported
            ]
            if hidden:
                verdicts[flag] = f"not reported by the CPU ({', '.join(hidden)} missing from /proc/cpuinfo)"
                continue
            run = subprocess.run([str(binary), flag], capture_output=True, timeout=30)
            verdicts[flag] = "ok" if run.returncode == 0 else _exit_reason(run.returncode)
    return verdicts


def _exit_reason(code: int) -> str:
    if code < 0:
        import signal

        return f"killed by {signal.Signals(-code).name}"
    return f"exit code {code}"


def selected_extensions(isa: str, compiler: str = "cc") -> list[str]:
    if isa == "auto":
        return [flag for flag, verdict in runnable_extensions(compiler).items() if verdict == "ok"]
    if isa not in LEVELS:
        raise SystemExit(f"llama_build: unknown --isa {isa!r}; use auto or one of {', '.join(LEVELS)}")
    return LEVELS[isa]


def cmake_args(extensions: list[str]) -> str:
    on = [f"-DGGML_{flag}=ON" for flag in extensions]
    off = [f"-DGGML_{flag}=OFF" for flag in [*PROBES, *ALWAYS_OFF] if flag not in extensions]
    return " ".join(["-DGGML_NATIVE=OFF", *on, *off])


def _compiler_version(compiler: str) -> str:
    try:
        return subprocess.run([compiler, "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    except (OSError, IndexError):
        return "unknown"


def wheel_cache() -> Path:
    root = os.environ.get("MOCKMENTOR_CACHE_DIR") or Path.home() / ".cache" / "mockmentor"
    return Path(root) / "llama-wheels"


def build_wheel(python: str, args: str, compiler: str = "cc", cflags: str = "") -> Path:
    """The wheel for these CMake args (and C/C++ flags), from the cache or built now (about 5
    minutes on 2 cores)."""
    tag = subprocess.run(
        [python, "-c", "import sys; print(f'cp{sys.version_info[0]}{sys.version_info[1]}')"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    identity = f"{VERSION}|{args}|{cflags}|{_compiler_version(compiler)}|{tag}"
    key = hashlib.sha256(identity.encode()).hexdigest()[:16]
    folder = wheel_cache() / key
    wheels = sorted(folder.glob("llama_cpp_python-*.whl"))
    if wheels:
        print(f"llama_build: cached wheel {wheels[0]}")
        return wheels[0]
    print(f"llama_build: building llama-cpp-python {VERSION} with CMAKE_ARGS={args}", flush=True)
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    env = dict(os.environ, CMAKE_ARGS=args, FORCE_CMAKE="1")
    if cflags:
        env |= {"CFLAGS": cflags, "CXXFLAGS": cflags}
    subprocess.run(
        [
            python,
            "-m",
            "pip",
            "wheel",
            "--disable-pip-version-check",
            "--no-deps",
            "--no-cache-dir",
            "--no-binary",
            "llama-cpp-python",
            "-w",
            str(partial),
            f"llama-cpp-python=={VERSION}",
        ],
        env=env,
        check=True,
    )
    (partial / "build.json").write_text(
        json.dumps({"version": VERSION, "cmake_args": args, "cflags": cflags})
    )
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)
    return next(folder.glob("llama_cpp_python-*.whl"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["flags", "install", "wheel"])
    parser.add_argument(
        "--isa",
        default=os.environ.get("MOCKMENTOR_LLAMA_ISA", "auto"),
        help="auto (what this CPU proves it runs) or x86-64-v2/-v3/-v4",
    )
    parser.add_argument("--python", default=sys.executable, help="the Python to build for and install into")
    parser.add_argument("--compiler", default=os.environ.get("CC", "cc"))
    options = parser.parse_args(argv)

    if options.command == "flags":
        for flag, verdict in runnable_extensions(options.compiler).items():
            print(f"{flag:12} {verdict}")
    extensions = selected_extensions(options.isa, options.compiler)
    args = cmake_args(extensions)
    if options.command == "flags":
        print(f"CMAKE_ARGS={args}")
        return
    print(f"llama_build: {options.isa}: {' '.join(extensions) or 'no SIMD extensions'}; AMX off")
    wheel = build_wheel(options.python, args, options.compiler)
    if options.command == "install":
        subprocess.run(
            [
                options.python,
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "-q",
                "--no-deps",
                "--force-reinstall",
                str(wheel),
            ],
            check=True,
        )
        print(f"llama_build: installed {wheel.name} ({options.isa})")
    else:
        print(wheel)


if __name__ == "__main__":
    main()
