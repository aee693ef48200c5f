"""Runs one candidate solution against its problem's tests, inside the sandbox.

This file is copied into the sandbox and run by the sandbox's own Python (`python3 -I`), so it
uses the standard library only and imports nothing from the project. The host gives it the
task as JSON at the path argv[2] (/task/task.json: code, test, entry_point) and a pipe on the
file descriptor named by argv[1], where it writes one JSON line per event:

  {"event": "loaded"}                               the solution compiled and ran
  {"event": "test", "test": ..., "passed": ..., "got": ..., "error": ...}   one per check
  {"event": "error", "error": ...}                  the solution could not be run at all
  {"event": "done"}

A line is written as soon as it is known, so a solution that hangs or dies in its third
check still reports the first two. HumanEval's `check(candidate)` is one function of asserts;
each top-level statement of its body runs on its own, so one failing assert does not hide the
rest, and a failing `assert candidate(x) == y` reports what the solution returned for x.

The candidate's code runs in this same interpreter and could write fake lines to the pipe;
that can only flatter its own result, never reach the service (see the README's threat model).
"""

import ast
import json
import os
import sys

SHOWN_CHARS = 300  # longest test source, returned value or error message reported


def shown(text: str) -> str:
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1] + "…"


def describe(err: BaseException, filename: str) -> str:
    """The error as a candidate reads it: type, message and the line of their file it came from."""
    line = None
    trace = err.__traceback__
    while trace is not None:
        if trace.tb_frame.f_code.co_filename == filename:
            line = trace.tb_lineno
        trace = trace.tb_next
    text = str(err)
    if isinstance(err, SyntaxError) and err.filename == filename:
        line, text = err.lineno, err.msg
    message = f"{type(err).__name__}: {text}" if text else type(err).__name__
    return shown(f"{message} (line {line} of your code)" if line else message)


def candidate_call(statement: ast.stmt, name: str) -> ast.expr | None:
    """The first call of the solution inside an assert, to report what it returned."""
    if isinstance(statement, ast.Assert):
        for node in ast.walk(statement.test):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name:
                return node
    return None


def main() -> None:
    channel = os.fdopen(int(sys.argv[1]), "w", buffering=1)

    def emit(**event: object) -> None:
        channel.write(json.dumps(event) + "\n")

    with open(sys.argv[2], encoding="utf-8") as handle:
        task = json.load(handle)
    solution: dict = {"__name__": "__main__"}
    try:
        exec(compile(task["code"], "solution.py", "exec"), solution)
    except BaseException as err:
        emit(event="error", error=describe(err, "solution.py"))
        return
    candidate = solution.get(task["entry_point"])
    if not callable(candidate):
        emit(event="error", error=f"your code defines no function named {task['entry_point']}")
        return
    emit(event="loaded")

    tree = ast.parse(task["test"])
    check = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "check")
    argument = check.args.args[0].arg
    tests = dict(solution)  # as in HumanEval's own harness: tests may call the prompt's helpers (poly)
    setup = [n for n in tree.body if n is not check]
    exec(compile(ast.Module(body=setup, type_ignores=[]), "tests.py", "exec"), tests)
    tests[argument] = candidate
    for statement in check.body:
        # shown with the function's own name: "has_close_elements([1.0], 0.5)", not "candidate(...)"
        source = (ast.get_source_segment(task["test"], statement) or "").replace(
            argument + "(", task["entry_point"] + "("
        )
        counted = any(isinstance(n, ast.Assert) for n in ast.walk(statement)) and any(
            isinstance(n, ast.Name) and n.id == argument for n in ast.walk(statement)
        )
        outcome: dict = {"test": shown(source), "passed": True, "got": None, "error": None}
        try:
            exec(compile(ast.Module(body=[statement], type_ignores=[]), "tests.py", "exec"), tests)
        except AssertionError:
            outcome["passed"] = False
            call = candidate_call(statement, argument)
            if call is not None:
                try:
                    got = eval(compile(ast.Expression(body=call), "tests.py", "eval"), tests)
                    outcome["got"] = shown(repr(got))
                except BaseException as err:
                    outcome["error"] = describe(err, "solution.py")
        except BaseException as err:
            outcome["passed"] = False
            outcome["error"] = describe(err, "solution.py")
        if counted:
            emit(event="test", **outcome)
        elif not outcome["passed"]:  # a setup line of the tests failed: the checks after it cannot run
            emit(event="error", error=outcome["error"] or "the tests could not be set up")
            return
    emit(event="done")


if __name__ == "__main__":
    main()
