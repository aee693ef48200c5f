"""Hostile submissions against the real sandbox: each ends in a clear result, none harms the host.

Every case runs a real HumanEval problem's tests in bubblewrap with the service's limits
(configs/serving.yaml, section `sandbox`), and after each the sandbox must still run a
correct solution: a hostile run that broke it for the next candidate would be harm too.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from mockmentor.coding.problems import CodingProblem, load_problems
from mockmentor.coding.sandbox import Sandbox, _tasks_of_user

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


@pytest.fixture(scope="module")
def problem(coding_problems: Path) -> CodingProblem:
    return load_problems(coding_problems)["HumanEval/0"]  # has_close_elements(numbers, threshold)


def solution(body: str, header: str = "") -> str:
    """A has_close_elements whose body is `body` (module-level `header` first)."""
    return f"{header}\ndef has_close_elements(numbers, threshold):\n" + "".join(
        f"    {line}\n" for line in body.splitlines()
    )


def run(sandbox: Sandbox, problem: CodingProblem, code: str | bytes) -> object:
    result = sandbox.run(code, problem.test, problem.entry_point)
    after = sandbox.run(problem.reference_solution, problem.test, problem.entry_point)
    assert after.status == "passed", f"the sandbox was left broken for the next run: {after.message}"
    assert result.message, "every result carries a sentence for the page"
    return result


def test_a_correct_solution_passes_and_a_wrong_one_names_the_failing_input(
    sandbox: Sandbox, problem: CodingProblem
) -> None:
    good = sandbox.run(problem.reference_solution, problem.test, problem.entry_point)
    assert (good.status, good.passed, good.total) == ("passed", 7, 7)
    wrong = sandbox.run(solution("return False"), problem.test, problem.entry_point)
    assert wrong.status == "failed" and 0 < wrong.passed < wrong.total == 7
    failing = [t for t in wrong.tests if not t.passed]
    assert failing[0].test.startswith(
        "assert has_close_elements([1.0, 2.0, 3.9, 4.0, 5.0, 2.2], 0.3) == True"
    )
    assert failing[0].got == "False"  # what the candidate's code returned for that input
    assert wrong.message == f"{wrong.passed} of 7 tests passed."


def test_an_infinite_loop_is_stopped_by_the_cpu_limit(sandbox: Sandbox, problem: CodingProblem) -> None:
    result = run(sandbox, problem, solution("while True:\n    pass"))
    assert result.status == "timeout"
    assert result.seconds < sandbox.limits.wall_seconds + 2


def test_a_sleeping_solution_is_stopped_by_the_wall_clock(sandbox: Sandbox, problem: CodingProblem) -> None:
    result = run(sandbox, problem, solution("time.sleep(3600)", header="import time"))
    assert result.status == "timeout" and "stopped after" in result.message
    assert result.seconds < sandbox.limits.wall_seconds + 2


def test_a_fork_bomb_stops_at_the_process_limit_and_leaves_nothing_behind(
    sandbox: Sandbox, problem: CodingProblem
) -> None:
    bomb = solution(
        "while True:\n    try:\n        os.fork()\n    except OSError:\n        pass", header="import os"
    )
    started = time.monotonic()
    result = run(sandbox, problem, bomb)
    assert result.status == "timeout"
    assert time.monotonic() - started < sandbox.limits.wall_seconds + 10
    if os.geteuid() == 0:  # the run's own user: none of its processes may outlive the run
        users = range(sandbox.limits.first_uid, sandbox.limits.first_uid + sandbox.limits.concurrent_runs)
        assert all(_tasks_of_user(uid)[0] == 0 for uid in users)


def test_memory_exhaustion_is_reported_as_such(sandbox: Sandbox, problem: CodingProblem) -> None:
    result = run(sandbox, problem, solution("hoard = []\nwhile True:\n    hoard.append(bytearray(10**7))"))
    assert result.status == "memory"
    assert f"{sandbox.limits.memory_mb} MB" in result.message


def test_a_huge_output_is_cut_and_the_run_stopped(sandbox: Sandbox, problem: CodingProblem) -> None:
    result = run(sandbox, problem, solution("while True:\n    print('x' * 10000)"))
    assert result.status == "output_limit"
    assert 0 < len(result.output) <= sandbox.limits.output_bytes


def test_host_files_the_database_and_the_environment_are_out_of_sight(
    sandbox: Sandbox, problem: CodingProblem, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = tmp_path / "mockmentor.db"
    database.write_text("candidate-secret-row")
    monkeypatch.setenv("MOCKMENTOR_DATABASE_URL", f"sqlite:///{database}")
    spy = solution(
        "seen = []\n"
        f"for path in ('/etc/passwd', '/etc/shadow', {str(database)!r}, {str(Path.cwd())!r}, '/root'):\n"
        "    try:\n"
        "        seen.append(open(path).read() if os.path.isfile(path) else os.listdir(path))\n"
        "    except OSError:\n"
        "        pass\n"
        "return [seen, dict(os.environ)]",
        header="import os",
    )
    result = run(sandbox, problem, spy)
    assert result.status == "failed"
    got = result.tests[0].got
    assert got is not None and got.startswith("[[], {")  # nothing seen
    assert "MOCKMENTOR" not in got and "candidate-secret-row" not in got
    assert database.read_text() == "candidate-secret-row"


def test_no_network_not_even_the_hosts_own_database_port(sandbox: Sandbox, problem: CodingProblem) -> None:
    probe = solution(
        "for address in (('127.0.0.1', 5432), ('1.1.1.1', 53)):\n"
        "    try:\n"
        "        socket.create_connection(address, timeout=2)\n"
        "        return 'connected'\n"
        "    except OSError as err:\n"
        "        pass\n"
        "return 'isolated'",
        header="import socket",
    )
    result = run(sandbox, problem, probe)
    assert result.tests[0].got == "'isolated'"


def test_a_segfault_through_ctypes_is_a_crash_not_a_service_error(
    sandbox: Sandbox, problem: CodingProblem
) -> None:
    result = run(sandbox, problem, solution("ctypes.string_at(0)", header="import ctypes"))
    assert result.status == "crashed" and "SIGSEGV" in result.message


def test_killing_the_parent_or_everything_reaches_nothing_outside(
    sandbox: Sandbox, problem: CodingProblem
) -> None:
    murder = solution(
        "for target in (os.getppid(), 1, -1):\n"
        "    try:\n"
        "        os.kill(target, signal.SIGKILL)\n"
        "    except OSError:\n"
        "        pass\n"
        "return False",
        header="import os, signal",
    )
    result = run(sandbox, problem, murder)  # run() then proves the sandbox still works
    assert result.status in ("failed", "crashed")
    os.kill(os.getpid(), 0)  # and this test process is alive to say so


def test_deleting_files_touches_only_the_runs_own_folder(
    sandbox: Sandbox, problem: CodingProblem, tmp_path: Path
) -> None:
    keep = tmp_path / "keep.txt"
    keep.write_text("still here")
    vandal = solution(
        "for root in ('/work', '/tmp', '/task', " + repr(str(tmp_path)) + "):\n"
        "    shutil.rmtree(root, ignore_errors=True)\n"
        # one file of each read-only system tree, not the whole tree: walking all of /usr/lib
        # spent the run's CPU limit on a slow machine, which timed out before reporting anything
        "for path in ('/usr/lib/os-release', sys.executable, '/etc/passwd'):\n"
        "    try:\n"
        "        os.remove(path)\n"
        "    except OSError:\n"
        "        pass\n"
        "open('scratch.txt', 'w').write('mine')\n"
        "return os.listdir('.')",
        header="import os, shutil, sys",
    )
    result = run(sandbox, problem, vandal)
    assert result.tests, result.message
    assert result.tests[0].got == "['scratch.txt']"  # it could write (and delete) only its own tmpfs
    assert keep.read_text() == "still here"
    assert Path("/usr/lib/os-release").exists() and Path("/usr/bin/python3").exists()


def test_a_megabyte_of_source_is_refused_before_anything_runs(
    sandbox: Sandbox, problem: CodingProblem
) -> None:
    result = sandbox.run("x = 1\n" * 200_000, problem.test, problem.entry_point)
    assert result.status == "refused" and "over the limit" in result.message and result.seconds == 0


def test_bytes_that_are_not_utf8_are_refused_with_their_position(
    sandbox: Sandbox, problem: CodingProblem
) -> None:
    code = solution("return False").encode() + b"# \xff\xfe\n"
    result = sandbox.run(code, problem.test, problem.entry_point)
    assert result.status == "refused"
    position = code.index(b"\xff") + 1
    assert f"byte {position} cannot be read" in result.message
    lone = sandbox.run(solution("return '\ud800'"), problem.test, problem.entry_point)
    assert lone.status == "refused"


def test_code_that_does_not_compile_or_exits_gets_a_plain_error(
    sandbox: Sandbox, problem: CodingProblem
) -> None:
    broken = sandbox.run(
        "def has_close_elements(numbers, threshold)\n    return 1\n", problem.test, "has_close_elements"
    )
    assert broken.status == "error"
    assert broken.message == "The code could not be run: SyntaxError: expected ':' (line 1 of your code)"
    leaving = sandbox.run("import sys\nsys.exit(0)\n", problem.test, problem.entry_point)
    assert leaving.status == "error" and "SystemExit" in leaving.message
    unnamed = sandbox.run("def other():\n    pass\n", problem.test, problem.entry_point)
    assert (
        unnamed.message == "The code could not be run: your code defines no function named has_close_elements"
    )
