"""Error signatures on real failed tool results (sources noted per case; long outputs are cut to the lines
that matter, in their original order)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline import error_signatures
from pipeline.dreaming.window import error_signature as window_signature
from pipeline.error_signatures import best_error_line, error_signature

PYTEST_COLLECTION_ERROR = """\
ImportError while importing test module '/home/dev/acme-api/tests/test_api.py'.
Hint: make sure your test modules/packages have valid Python names.
Traceback:
/usr/lib/python3.11/importlib/__init__.py:126: in import_module
    return _bootstrap._gcd_import(name[level:], package, level)
tests/test_api.py:3: in <module>
    from acme_api.app import create_app
E   ModuleNotFoundError: No module named 'acme_api'
=========================== short test summary info ============================
ERROR tests/test_api.py
!!!!!!!!!!!!!!!!!!!! Interrupted: 1 error during collection !!!!!!!!!!!!!!!!!!!!
=============================== 1 error in 0.05s ==============================="""

PYTEST_RED = """\
Exit code 1
============================= test session starts ==============================
collected 4 items

tests/test_x.py ...F                                                      [100%]

=================================== FAILURES ===================================
    def test_y():
>       assert multiply_numbers(2, 3) == 5
E       assert 6 == 5

tests/test_x.py:9: AssertionError
=========================== short test summary info ============================
FAILED tests/test_x.py::test_y - assert 6 == 5
========================= 1 failed, 3 passed in 0.12s =========================="""

CASES = [
    # claude-code/drmaciver-coverage-test-fix: a `git commit` with nothing left to commit
    (
        "Exit code 1\nOn branch master\nnothing to commit, working tree clean",
        "nothing to commit, working tree clean",
    ),
    # codex/codemie sessions/2026/01/02 rollout
    ("cat: nonexistent.txt: No such file or directory", "cat: <path>: No such file or directory"),
    # real-world-2 spotter: zsh in Claude Code's Bash tool
    ("Exit code 127\n(eval):1: command not found: tree", "(eval):<n>: command not found: tree"),
    # real-world-2 trackgentic (Agent SDK)
    (
        "Exit code 1\nerror: unknown option '--parent'\n(Did you mean --parentId?)",
        "error: unknown option <str>",
    ),
    # real-world-2 spotter: git push without upstream (first line of several)
    (
        "Exit code 128\nfatal: The current branch spotter-gqc has no upstream branch.\nTo push the current branch "
        "and set the remote as upstream, use\n\n    git push --set-upstream origin spotter-gqc\n",
        "fatal: The current branch spotter-gqc has no upstream branch.",
    ),
    # claude-code/marot-spotter/short.jsonl: the user rejected the call
    (
        "The user doesn't want to proceed with this tool use. The tool use was rejected (eg. if it was a file "
        "edit, the new_string was NOT written to the file). STOP what you are doing and wait for the user.",
        "The user doesn't want to proceed with this tool use.",
    ),
    # claude-code/codemie-incremental-subagents
    ("<tool_use_error>File does not exist.</tool_use_error>", "File does not exist."),
    # Claude Code's Bash timeout
    ("Command timed out after 2m 0.0s", "Command timed out after <n>m <n>s"),
    # real-world-2 spotter: ExUnit, the exception says more than `5 tests, 5 failures`
    (
        "Exit code 2\nRunning ExUnit with seed: 918599, max_cases: 32\n  1) test mount renders (SpotterWeb.LiveTest)\n"
        "     test/spotter_web/live/project_review_live_test.exs:58\n"
        "     ** (RuntimeError) no :secret_key_base configuration found in SpotterWeb.Endpoint.\n"
        "     stacktrace:\n       (phoenix 1.8.3) lib/phoenix/token.ex:266: Phoenix.Token.sign/4\n\n"
        "Finished in 1.6 seconds (0.00s async, 1.6s sync)\n5 tests, 5 failures",
        "RuntimeError: no :secret_key_base configuration found in SpotterWeb.Endpoint.",
    ),
    # real-world-2 spotter: an ExUnit assertion failure: the runner's totals
    (
        "Exit code 2\n  1) test renders (X.Test)\n     Assertion with == failed\n     code:  assert length(a) == 2\n"
        "     left:  4\n     right: 2\n..\nFinished in 0.5 seconds (0.00s async, 0.5s sync)\n13 tests, 1 failure",
        "<n> tests, <n> failure",
    ),
    # real-world-2 trackgentic: bun's summary, not its wrapper's exit line
    (
        "Exit code 1\n(fail) hierarchy > promotes\nerror: expect(received).toBe(expected)\n\n 570 pass\n 3 fail\n"
        ' 2007 expect() calls\nRan 573 tests across 25 files. [4.32s]\nerror: script "test" exited with code 1',
        "<n> fail",
    ),
    (PYTEST_COLLECTION_ERROR, "ModuleNotFoundError: No module named <name>"),
    (PYTEST_RED, "<n> failed, <n> passed in <n>s"),
    (
        "Tests:       1 failed, 3 passed, 4 total\nSnapshots:   0 total\nTime:        1.2 s",
        "Tests: <n> failed, <n> passed, <n> total",
    ),
    (
        "running 4 tests\ntest b ... FAILED\n\ntest result: FAILED. 3 passed; 1 failed; 0 ignored; 0 measured",
        "test result: FAILED. <n> passed; <n> failed; <n> ignored; <n> measured",
    ),
    (
        'Traceback (most recent call last):\n  File "/x/a.py", line 3, in <module>\n    main()\n'
        "ValueError: bad value 42 for key 'k'",
        "ValueError: bad value <n> for key <str>",
    ),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[e[:30] for _, e in CASES])
def test_signature_names_the_error(text: str, expected: str) -> None:
    assert error_signature(text) == expected


def test_never_exit_code_when_a_better_line_exists() -> None:
    for text, _ in CASES:
        assert not error_signature(text).lower().startswith("exit code")
    assert error_signature("Exit code 1") == "Exit code <n>", "alone, the exit code is all there is"


def test_codex_output_metadata_is_never_a_signature() -> None:
    text = "Chunk ID: 5a0c8d\nWall time: 1.0041 seconds\nProcess running with session ID 59181\nOutput:\n"
    assert error_signature(text) == ""


def test_secrets_are_redacted_before_the_line_is_chosen_or_cut() -> None:
    key = "sk-ant-api03-" + "Ab1" * 30
    signature = error_signature(f"Exit code 1\nAuthenticationError: invalid x-api-key {key} for /v1/messages")
    assert key[:20] not in signature and "sk-ant" not in signature
    assert signature.startswith("AuthenticationError: invalid x-api-key [REDACTED")


def test_windows_of_the_dreamer_use_the_same_signature() -> None:
    assert window_signature(PYTEST_COLLECTION_ERROR) == "ModuleNotFoundError: No module named <name>"


def test_best_line_is_bounded_and_empty_text_is_empty() -> None:
    assert error_signature(None) == "" and error_signature("   ") == ""
    assert len(error_signature("x" * 5000)) <= 120
    assert best_error_line("E   assert 1 == 2") == "assert 1 == 2"


def _score_lines() -> list[str]:
    """Lines that exercise every scoring branch: each cause word in several cases and surroundings, runner
    summaries with and without digits, non-ASCII look-alikes, and every line of the fixtures' texts."""
    words = [w for group in error_signatures._CAUSE_WORDS for w in group] + list(
        error_signatures._ERROR_WORD_LIST
    )
    lines = []
    for word in words:
        for form in (word, word.upper(), word.title()):
            lines += [form, f"x {form} y", f"{form}$", f"pathspec 'a' did not match {form}", f"Killed {form}"]
    lines += ["test result: FAILED. 1 passed", "ok  pkg 0.1s", "ok pkg .s", "--- FAIL: TestX", "12 fail"]
    lines += ["FAIL pkg 1.2s", "Tests: 3 failed, 2 passed", "ſyntaxerror here", "\u212ailled", "İmporterror:"]
    lines += ["Ünknown option", "fäiled", "Tİmeout", "permission ďenied", "no module named 'é'"]
    fixtures = Path(__file__).resolve().parents[1] / "fixtures"
    for path in sorted(fixtures.rglob("*.json*")):
        lines += path.read_text(errors="replace").replace("\\n", "\n").splitlines()[:400]
    return lines


def test_scoring_with_word_screening_equals_running_every_pattern() -> None:
    """The word screen in `_score` only skips patterns that cannot match: same score as every regex run."""
    lines = [error_signatures._clean(line) for line in _score_lines()]
    checked = 0
    for line in lines:
        if not line or error_signatures._METADATA.match(line) or error_signatures._NOISE.match(line):
            continue
        assert error_signatures._score(line) == error_signatures._score_by_patterns(line), line
        checked += 1
    assert checked > 1000


def _best_line_by_patterns(text: str) -> str:
    """`best_error_line` as it was: every line scored by every pattern."""
    best, best_score = "", -1
    for line in map(error_signatures._clean, text.replace("\\n", "\n").splitlines()):
        if not line:
            continue
        if error_signatures._METADATA.match(line):
            score, prefer_last = -1, False
        elif error_signatures._NOISE.match(line):
            score, prefer_last = 0, False
        else:
            score, prefer_last = error_signatures._score_by_patterns(line)
        if score > best_score or (score == best_score and prefer_last):
            best, best_score = line, score
    return error_signatures._first_sentence(best)


def test_best_line_with_text_level_word_screening_equals_scoring_every_line_in_full() -> None:
    lines = _score_lines()
    texts = ["\n".join(lines[i : i + 12]) for i in range(0, len(lines), 12)]
    texts += ["ok\ntime\x1b[0mout while waiting", "** (undefined) x\nplain", "E   No module named 'x'\\nfoo"]
    texts += [PYTEST_COLLECTION_ERROR, PYTEST_RED]
    for text in texts:
        assert best_error_line(text) == _best_line_by_patterns(text), text[:200]


def test_signatures_of_many_texts_equal_each_text_on_its_own() -> None:
    """The batch (`error_signatures`: one redaction pass, one multi-pattern word look) changes no signature."""
    lines = _score_lines()
    texts = ["\n".join(lines[i : i + 12]) for i in range(0, len(lines), 12)]
    texts += [PYTEST_COLLECTION_ERROR, PYTEST_RED, "", "   ", "ghp_" + "a" * 36 + " timed out", "Tİmeout ſ"]
    assert error_signatures.error_signatures(texts) == [error_signature(text) for text in texts]
