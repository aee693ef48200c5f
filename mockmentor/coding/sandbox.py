"""Runs untrusted candidate code against a problem's tests, in a sandbox (bubblewrap + rlimits).

Each run is a fresh `bwrap` process with every namespace unshared: no network (its own empty
network namespace), no view of other processes, its own hostname and IPC. Its filesystem is
the host's /usr read-only (for the Python interpreter and its standard library) and two
private size-limited tmpfs folders (/work, where the code runs, and /tmp); /etc, /home,
/root, the project, its database and models do not exist inside. The environment is cleared.
The task (code and tests) and runner.py come in through memory files, never a host path.
When the service runs as root, each concurrent run gets its own unprivileged user (from
`first_uid` up) with no capabilities, and a user is reused only once none of its processes is
left, so one candidate's fork bomb cannot use up another's process limit. rlimits (via
util-linux `prlimit`) cap CPU seconds, address space, the number of processes (a fork bomb
stops there), file size and core dumps; the host caps wall time and output size and kills the
whole sandbox (its PID namespace dies with it) past either.

A host without bwrap gets a clear `SandboxUnavailable`, and candidate code is never run
unsandboxed. `Sandbox.preflight` proves the isolation on this machine before it is trusted.
"""

from __future__ import annotations

import json
import os
import queue
import selectors
import shutil
import signal
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

from pydantic.dataclasses import dataclass as config_dataclass

from mockmentor.config import STRICT, load_section
from mockmentor.settings import get_settings

from . import runner  # imported for its file (and so the import graph sees it), run only inside

RUNNER = Path(runner.__file__)
Status = Literal["passed", "failed", "error", "timeout", "memory", "output_limit", "crashed", "refused"]


class SandboxUnavailable(RuntimeError):
    """This machine cannot run the sandbox (no bwrap, or it failed its preflight)."""


@config_dataclass(config=STRICT)
class SandboxLimits:
    wall_seconds: float = field(metadata={"help": "a run is killed after this long, whatever it does"})
    cpu_seconds: int = field(metadata={"help": "CPU time limit (RLIMIT_CPU)"})
    memory_mb: int = field(metadata={"help": "address-space limit (RLIMIT_AS), MiB"})
    processes: int = field(metadata={"help": "most processes the sandbox's user may have (RLIMIT_NPROC)"})
    output_bytes: int = field(metadata={"help": "printed output past this kills the run"})
    file_mb: int = field(metadata={"help": "largest file the code may write (RLIMIT_FSIZE), MiB"})
    tmpfs_mb: int = field(metadata={"help": "size of each private tmpfs (/work, /tmp), MiB"})
    code_bytes: int = field(metadata={"help": "longest accepted solution"})
    python: str = field(metadata={"help": "the interpreter inside the sandbox (under /usr)"})
    concurrent_runs: int = field(metadata={"help": "runs at once; more wait their turn"})
    first_uid: int = field(
        metadata={"help": "a root service runs each concurrent run as its own unprivileged user from here up"}
    )

    def __post_init__(self) -> None:
        if (
            min(self.wall_seconds, self.cpu_seconds, self.memory_mb, self.processes, self.concurrent_runs)
            <= 0
        ):
            raise ValueError(
                "wall_seconds, cpu_seconds, memory_mb, processes and concurrent_runs must be positive"
            )
        if self.first_uid < 1000:
            raise ValueError("first_uid must be 1000 or above, away from system users")
        if not self.python.startswith("/usr/"):
            raise ValueError("python must lie under /usr, the only host folder the sandbox sees")


def load_sandbox_limits(path: Path | None = None) -> SandboxLimits:
    """Section `sandbox` of the serving recipe (configs/serving.yaml unless settings name another)."""
    return load_section(path or get_settings().serving_config, "sandbox", SandboxLimits)


@dataclass
class TestOutcome:
    test: str  # the check's source with the function's own name, e.g. "assert add([1, 2]) == 3"
    passed: bool
    got: str | None = None  # what the solution returned, for a failing `assert candidate(...) == ...`
    error: str | None = None


@dataclass
class RunResult:
    status: Status
    message: str  # one sentence for the page
    passed: int = 0
    total: int = 0
    tests: list[TestOutcome] = field(default_factory=list)
    error: str | None = None
    output: str = ""  # what the code printed (the first output_bytes)
    seconds: float = 0.0

    @property
    def first_failure(self) -> TestOutcome | None:
        """The first check that did not pass: the case the interviewer talks about."""
        return next((t for t in self.tests if not t.passed), None)

    def to_dict(self) -> dict:
        return asdict(self)


def _memory_file(name: str, data: bytes) -> int:
    fd = os.memfd_create(name)
    os.write(fd, data)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def _tasks_of_user(uid: int) -> tuple[int, int]:
    """This user's threads now, alive and zombie: RLIMIT_NPROC counts both, until the zombies' new
    parent (the host's init, for an orphaned sandbox) reaps them."""
    alive = zombies = 0
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
        except OSError:
            continue
        if int(fields.get("Uid", "-1").split()[0]) == uid:
            if fields.get("State", "").strip().startswith("Z"):
                zombies += 1
            else:
                alive += int(fields.get("Threads", "1"))
    return alive, zombies


class Sandbox:
    def __init__(self, limits: SandboxLimits) -> None:
        self.limits = limits
        self._runner = RUNNER.read_bytes()  # copied into every sandbox
        self.bwrap = shutil.which("bwrap")
        self.prlimit = shutil.which("prlimit")
        # Root: one user per concurrent run. Otherwise every run is this user, one at a time.
        users = range(limits.first_uid, limits.first_uid + limits.concurrent_runs)
        self._users: queue.Queue[int | None] = queue.Queue()
        for uid in users if os.geteuid() == 0 else [None]:
            self._users.put(uid)
        if self.bwrap is None or self.prlimit is None:
            raise SandboxUnavailable(
                "the coding round needs bubblewrap and util-linux's prlimit "
                "(`make sandbox`, or `apt-get install bubblewrap`): candidate code is never run unsandboxed"
            )
        if not Path(limits.python).exists():
            raise SandboxUnavailable(f"the sandbox's interpreter {limits.python} does not exist")

    def _command(self, fds: dict[str, int], channel: int, uid: int | None) -> list[str]:
        limits = self.limits
        processes = (
            limits.processes if uid is not None else sum(_tasks_of_user(os.getuid())) + limits.processes
        )
        mib = 1024 * 1024
        command = [
            self.prlimit,
            # SIGXCPU at the soft limit (reported as such), SIGKILL a second later if it is ignored
            f"--cpu={limits.cpu_seconds}:{limits.cpu_seconds + 1}",
            f"--as={limits.memory_mb * mib}",
            f"--nproc={processes}",
            f"--fsize={limits.file_mb * mib}",
            "--core=0",
            "--",
            self.bwrap,
            "--unshare-all",
            "--die-with-parent",
            "--new-session",
            # The runner is the namespace's PID 1: bwrap's own reaper would exit as an orphan that
            # the host's init must reap, and until it does it counts against the user's process limit.
            "--as-pid-1",
            "--cap-drop", "ALL",
            "--hostname", "sandbox",
            "--clearenv",
            "--setenv", "PATH", "/usr/bin",
            "--setenv", "HOME", "/work",
            "--setenv", "LANG", "C.UTF-8",
            "--setenv", "PYTHONDONTWRITEBYTECODE", "1",
            "--ro-bind", "/usr", "/usr",
        ]  # fmt: skip
        for top in ("/bin", "/lib", "/lib64", "/sbin"):  # merged-/usr hosts link these into /usr
            path = Path(top)
            if path.is_symlink():
                command += ["--symlink", os.readlink(path), top]
            elif path.is_dir():
                command += ["--ro-bind", top, top]
        for folder in ("/work", "/tmp"):
            command += ["--size", str(limits.tmpfs_mb * mib), "--tmpfs", folder]
        command += [
            "--dev", "/dev",
            "--proc", "/proc",
            "--ro-bind-data", str(fds["runner"]), "/task/runner.py",
            "--ro-bind-data", str(fds["task"]), "/task/task.json",
            "--chdir", "/work",
            limits.python, "-I", "/task/runner.py", str(channel), "/task/task.json",
        ]  # fmt: skip
        return command

    def refused(self, code: str | bytes) -> RunResult | None:
        """A solution that is not run at all: too long, or not UTF-8 text."""
        size = len(code.encode("utf-8", "surrogatepass") if isinstance(code, str) else code)
        if size > self.limits.code_bytes:
            return RunResult(
                "refused",
                f"The code is {size / 1024:.0f} KB, "
                f"over the limit of {self.limits.code_bytes / 1024:.0f} KB.",
            )
        try:
            code.decode("utf-8") if isinstance(code, bytes) else code.encode("utf-8")
        except UnicodeError as err:
            unit = "byte" if isinstance(code, bytes) else "character"
            return RunResult(
                "refused", f"The code is not valid UTF-8 text ({unit} {err.start + 1} cannot be read)."
            )
        return None

    def run(self, code: str | bytes, test: str, entry_point: str) -> RunResult:
        refusal = self.refused(code)
        if refusal is not None:
            return refusal
        text = code.decode("utf-8") if isinstance(code, bytes) else code
        task = json.dumps({"code": text, "test": test, "entry_point": entry_point}).encode()
        uid = self._users.get()  # waits while every user is busy
        try:
            return self._run_as(uid, task)
        finally:
            self._release(uid)

    def _release(self, uid: int | None) -> None:
        """Hand the user back once none of its processes runs and at most half its process limit is
        held by zombies (a killed fork bomb takes a moment to die and be reaped)."""
        deadline = time.monotonic() + 5
        while uid is not None and time.monotonic() < deadline:
            alive, zombies = _tasks_of_user(uid)
            if not alive and zombies <= self.limits.processes // 2:
                break
            time.sleep(0.02)
        self._users.put(uid)

    def _run_as(self, uid: int | None, task: bytes) -> RunResult:
        fds = {"runner": _memory_file("runner", self._runner), "task": _memory_file("task", task)}
        read_end, write_end = os.pipe()
        command = self._command(fds, write_end, uid)
        started = time.perf_counter()
        try:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                pass_fds=(*fds.values(), write_end),
                user=uid,
                group=uid,
                extra_groups=[] if uid is not None else None,
                start_new_session=True,
            )
        finally:
            for fd in (*fds.values(), write_end):
                os.close(fd)
        output, events, ended = self._collect(process, read_end)
        seconds = round(time.perf_counter() - started, 3)
        return self._result(process.returncode, output, events, ended, seconds)

    def _collect(self, process: subprocess.Popen, channel: int) -> tuple[bytes, list[dict], str | None]:
        """Read output and events until the run ends, is too long or prints too much."""
        assert process.stdout is not None
        selector = selectors.DefaultSelector()
        selector.register(process.stdout, selectors.EVENT_READ, "output")
        selector.register(channel, selectors.EVENT_READ, "events")
        output, events = bytearray(), bytearray()
        deadline = time.monotonic() + self.limits.wall_seconds
        ended = None
        open_streams = 2
        while open_streams:
            left = deadline - time.monotonic()
            if left <= 0:
                ended = "timeout"
                break
            for key, _ in selector.select(timeout=left):
                chunk = os.read(key.fd, 65536)
                if not chunk:
                    selector.unregister(key.fileobj)
                    open_streams -= 1
                    continue
                (output if key.data == "output" else events).extend(chunk)
            if len(output) > self.limits.output_bytes:
                ended = "output_limit"
                break
            if len(events) > 4 * 1024 * 1024:  # a solution flooding the event pipe
                ended = "output_limit"
                break
        if ended is not None:
            process.kill()  # bwrap dies, and with it the whole PID namespace (--die-with-parent)
        process.wait()
        selector.close()
        process.stdout.close()
        os.close(channel)
        parsed = []
        for line in events.decode("utf-8", "replace").splitlines():
            try:
                parsed.append(json.loads(line))
            except ValueError:
                continue
        return bytes(output[: self.limits.output_bytes]), parsed, ended

    def _result(
        self, code: int, output: bytes, events: list[dict], ended: str | None, seconds: float
    ) -> RunResult:
        tests = [
            TestOutcome(str(e.get("test", "")), bool(e.get("passed")), e.get("got"), e.get("error"))
            for e in events
            if e.get("event") == "test"
        ]
        passed = sum(t.passed for t in tests)
        error = next((str(e.get("error")) for e in events if e.get("event") == "error"), None)
        done = any(e.get("event") == "done" for e in events)
        result = RunResult(
            "passed", "", passed, len(tests), tests, error, output.decode("utf-8", "replace"), seconds
        )
        limits = self.limits
        signal_number = code - 128 if code > 128 else -code if code < 0 else None  # bwrap: 128 + signal
        errors = [error or "", *(t.error or "" for t in tests)]
        if ended == "timeout":
            result.status = "timeout"
            result.message = (
                f"The run was stopped after {limits.wall_seconds:g} s: is there a loop that never ends?"
            )
        elif ended == "output_limit":
            result.status = "output_limit"
            result.message = f"The code printed more than {limits.output_bytes // 1024} KB and was stopped."
        elif not done and signal_number in (signal.SIGXCPU, signal.SIGKILL):
            result.status = "timeout"
            result.message = f"The run used more than {limits.cpu_seconds} s of CPU and was stopped."
        elif any(e.startswith("MemoryError") for e in errors):
            result.status = "memory"
            result.message = f"The code ran out of memory (the limit is {limits.memory_mb} MB)."
        elif error is not None:
            result.status = "error"
            result.message = f"The code could not be run: {error}"
        elif not done:
            result.status = "crashed"
            reason = signal.Signals(signal_number).name if signal_number else f"exit code {code}"
            result.message = f"The run ended before the tests finished ({reason})."
        elif passed < len(tests):
            result.status = "failed"
            result.message = f"{passed} of {len(tests)} tests passed."
        else:
            result.message = f"All {len(tests)} tests passed."
        return result

    def preflight(self) -> None:
        """Prove on this machine that code runs, and that it sees no network and no host files."""
        probe = (
            "import os, socket\n"
            "def probe():\n"
            f"    hidden = ('/etc/passwd', '/root', '/home', {str(RUNNER.parents[2])!r})\n"
            "    seen = [path for path in hidden if os.path.exists(path)]\n"
            "    try:\n"
            "        socket.create_connection(('1.1.1.1', 53), timeout=1)\n"
            "        seen.append('network')\n"
            "    except OSError:\n"
            "        pass\n"
            "    return seen\n"
        )
        result = self.run(probe, "def check(candidate):\n    assert candidate() == []\n", "probe")
        if result.status != "passed":
            detail = result.tests[0].got if result.tests else result.message
            raise SandboxUnavailable(f"the sandbox failed its preflight on this machine: {detail}")
