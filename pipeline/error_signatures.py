"""Error signatures: the one line of a failed tool result that names the error, masked so it recurs.

A failed result's first line is usually the least informative one: Claude Code puts `Exit code 1` there,
Codex `Chunk ID: ...`, Python `Traceback (most recent call last):`. Lessons need the line that says what
went wrong (`ModuleNotFoundError: No module named <name>`, `2 failed, 5 passed`, `Command timed out`), in
the same words in every session, so the same failure can be counted across sessions.

`error_signature(text)`:
1. redacts the whole text (`pipeline.redaction.Redactor`) before anything else, so a secret is never cut
   into pieces a detector no longer recognises, and signatures can be quoted in playbooks;
2. splits it into lines (literal `\\n` escapes too), drops ANSI colours, `<tool_use_error>` tags, pytest's
   `E   ` and Elixir's `** ` prefixes;
3. scores each line and keeps the best: a known cause (missing module, missing file, command not found,
   timeout, permission, rejected tool use, ...; `_CAUSES`) > a named exception (`ValueError: ...`,
   `RuntimeError: ...`, `panic:`) > a test runner's summary (pytest, jest/vitest, bun, go test, cargo
   test, ExUnit, or the plain `N passed, N failed`) > a bare `error:`/`fatal:`/`FAILED` line > a line
   with an error word > any other line; exit-code and traceback-header lines only when nothing else is
   there, and Codex's output metadata (`Chunk ID:`, `Wall time:`) never. Ties go to the last exception or
   summary line (a traceback ends with what was raised, a test run with its totals), else to the first;
   a line longer than a signature is cut after its first sentence;
4. masks what differs between occurrences: `No module named 'x'` -> `No module named <name>`, quoted
   values -> `<str>`, paths -> `<path>`, long hex and ids -> `<id>`, numbers -> `<n>`, and cuts it to
   120 characters.
"""

from __future__ import annotations

import re

import polars as pl

from pipeline.redaction import Redactor

SIGNATURE_CHARS = 120
MAX_SCANNED_LINES = 4000  # enough for any summary line; a 50 MB log must not cost a dream minutes

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
_TAGS = re.compile(r"</?tool_use_error>")
_PREFIX = re.compile(r"^(?:E\s{2,}|\*\*\s+|>\s+|[│┃|]\s*)+")
_ELIXIR_EXCEPTION = re.compile(r"^\(([A-Z][\w.]*)\)\s*(.*)$")
_RULERS = re.compile(r"^[=!_\-*#~]{3,}\s*|\s*[=!_\-*#~]{3,}$")

_METADATA = re.compile(
    r"^(?:Chunk ID:|Wall time:|Process running with session ID|Original token count|Output:$)"
)
_NOISE = re.compile(
    r"^(?:(?:Error: )?Exit code:? -?\d+|Process exited with code -?\d+|exit status -?\d+|Command exited with"
    r"|error: script .* exited with code|npm ERR! (?:code ELIFECYCLE|Test failed|errno|A complete log)"
    r"|Traceback \(most recent call last\):?|File \".*\", line \d+|at .+\(.+:\d+:\d+\)$|at [\w.$<>]+ \(|"
    r"stacktrace:|Refreshing run status|[-=_*~.#!+─━┃│ ]+$)",
    re.IGNORECASE,
)
_SUMMARY = re.compile(
    r"(?:\b\d+ (?:failed|passed|errors?|skipped|xfailed|xpassed|deselected)\b(?:,? \d+ \w+)*(?: in [\d.]+s)?"
    r"|^Tests?:?\s+.*\b\d+ (?:failed|passed)"
    r"|^Test Files\s+.*\b\d+ (?:failed|passed)"
    r"|^test result: (?:FAILED|ok)\."
    r"|\b\d+ tests?, \d+ failures?"
    r"|^(?:FAIL|ok)\s+\S+\s+[\d.]+s$"
    r"|^--- FAIL: \S+"
    r"|^Interrupted: \d+ errors? during collection"
    r"|^\d+ fail$)",
    re.IGNORECASE,
)
_NAMED_EXCEPTION = re.compile(
    r"^(?:[A-Za-z_][\w.]*(?:Error|Exception|Failure|Fault|Exit|Interrupt)\b(?::|$)"
    r"|panic:|thread '.*' panicked)"
)
_EXCEPTION = re.compile(r"^(?:(?:error|fatal|ERROR|FATAL)(?:\[\w+\])?:|npm ERR!|FAILED\b|Error\b)")
_ERROR_WORDS = re.compile(
    r"error|fail|fatal|exception|denied|invalid|cannot|can't|unable|not found|refused|missing|undefined"
    r"|forbidden|unauthori[sz]ed|conflict|abort|killed|crash",
    re.IGNORECASE,
)
# Known causes, most specific first; the score decides between lines.
_CAUSES: tuple[tuple[int, re.Pattern[str]], ...] = tuple(
    (score, re.compile(pattern, re.IGNORECASE))
    for score, pattern in (
        (60, r"ModuleNotFoundError|No module named|Cannot find module|Module not found|ImportError:"),
        (58, r"SyntaxError|IndentationError|TabError|Unexpected token|ParseError|parse error"),
        (56, r"command not found|: not found$|is not recognized as an internal or external command"),
        (55, r"No such file or directory|ENOENT|File does not exist|does not exist|cannot find the path"),
        (55, r"Permission denied|EACCES|Operation not permitted|EPERM|requires approval|may not access"),
        (55, r"timed out|timeout|TimeoutError|deadline exceeded"),
        (55, r"user doesn't want to proceed|rejected by the user|User rejected|interrupted by user"),
        (54, r"unknown option|unrecognized (?:arguments?|option)|invalid option|unknown command|Usage:"),
        (54, r"nothing to commit|no changes added to commit|CONFLICT|merge conflict|\[rejected\]"),
        (54, r"has no upstream branch|not a git repository|pathspec .* did not match"),
        (53, r"EADDRINUSE|address already in use|Connection refused|ECONNREFUSED|Could not resolve host"),
        (53, r"undefined function|undefined: |cannot find symbol|is not defined|has no attribute"),
        (53, r"out of memory|MemoryError|Killed$|exceeds maximum allowed size|too long"),
        (52, r"Pre-commit validation failed|hook (?:failed|declined)|Sibling tool call errored"),
    )
)
# Words every match of each `_CAUSES` pattern (same order) contains, lowercased: on an ASCII line a pattern
# runs only when one of its words is in the lowered line, since `re` with IGNORECASE scans ~20x slower
# than `str.__contains__` and nearly every line matches no cause. Non-ASCII lines run every pattern
# (IGNORECASE equates some non-ASCII letters with ASCII ones). tests/dreaming check the two agree.
_CAUSE_WORDS: tuple[tuple[str, ...], ...] = (
    ("modulenotfounderror", "no module named", "cannot find module", "module not found", "importerror:"),
    ("syntaxerror", "indentationerror", "taberror", "unexpected token", "parseerror", "parse error"),
    ("command not found", ": not found", "is not recognized as an internal or external command"),
    ("no such file or directory", "enoent", "file does not exist", "does not exist", "cannot find the path"),
    (
        "permission denied",
        "eacces",
        "operation not permitted",
        "eperm",
        "requires approval",
        "may not access",
    ),
    ("timed out", "timeout", "deadline exceeded"),
    ("user doesn't want to proceed", "rejected by the user", "user rejected", "interrupted by user"),
    (
        "unknown option",
        "unrecognized argument",
        "unrecognized option",
        "invalid option",
        "unknown command",
        "usage:",
    ),
    ("nothing to commit", "no changes added to commit", "conflict", "[rejected]"),
    ("has no upstream branch", "not a git repository", "pathspec "),
    ("eaddrinuse", "address already in use", "connection refused", "econnrefused", "could not resolve host"),
    ("undefined function", "undefined: ", "cannot find symbol", "is not defined", "has no attribute"),
    ("out of memory", "memoryerror", "killed", "exceeds maximum allowed size", "too long"),
    ("pre-commit validation failed", "hook failed", "hook declined", "sibling tool call errored"),
)
_ERROR_WORD_LIST = (
    "error", "fail", "fatal", "exception", "denied", "invalid", "cannot", "can't", "unable", "not found",
    "refused", "missing", "undefined", "forbidden", "unauthorised", "unauthorized", "conflict", "abort",
    "killed", "crash",
)  # fmt: skip
_SUMMARY_STARTS = ("test result:", "fail", "ok", "--- fail:")  # `_SUMMARY`'s branches that need no digit
_DIGIT = re.compile(r"\d")

_MODULE = re.compile(r"(No module named|Cannot find module|Module not found: .*?resolve)\s+(['\"`]).*?\2")
_QUOTED = re.compile(r"(['\"`‘“])(?:(?!\1).){0,200}?(?:\1|[’”])")
_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://\S+")
_PATH = re.compile(r"(?:[A-Za-z]:)?(?:~|\.{1,2})?(?:[\w.\-@~]*[/\\])+[\w.\-@]+(?::\d+(?::\d+)?)?")
_FILE = re.compile(
    r"\b[\w\-]+\.(?:py|js|ts|tsx|jsx|rs|go|rb|ex|exs|java|kt|c|h|cpp|json|ya?ml|toml|md|txt|sh)\b"
)
_HEX = re.compile(r"\b(?:0x)?(?=[0-9a-f]*\d)[0-9a-f]{7,}\b|\b[0-9a-f]{8}-[0-9a-f-]{27,}\b", re.IGNORECASE)
_NUMBER = re.compile(r"(?<![A-Za-z_<])[-+]?\d+(?:[.,:]\d+)*(?:e[-+]?\d+)?")


_RULER_CHARS = "=!_-*#~"
_PREFIX_STARTS = ("E", "*", ">", "│", "┃", "|")


def _clean(line: str) -> str:
    # Each pattern runs only on a line holding what every match needs (an escape, a tag, a prefix's first
    # character, a ruler character at an end): most lines need none, and `re.sub` scans every position.
    if "\x1b" in line:
        line = _ANSI.sub("", line)
    if "tool_use_error>" in line:
        line = _TAGS.sub("", line)
    line = line.strip()
    if line.startswith(_PREFIX_STARTS):
        line = _PREFIX.sub("", line)
    if line[:1] in _RULER_CHARS or line[-1:] in _RULER_CHARS:
        line = _RULERS.sub("", line)
    line = line.strip()
    elixir = _ELIXIR_EXCEPTION.match(line)
    if elixir:  # `** (RuntimeError) message` reads as `RuntimeError: message`
        line = f"{elixir.group(1)}: {elixir.group(2)}".rstrip(": ")
    return line


_Cause = tuple[tuple[int, re.Pattern[str]], tuple[str, ...]]  # ((score, pattern), its words)
_ALL_CAUSES: tuple[_Cause, ...] = tuple(zip(_CAUSES, _CAUSE_WORDS, strict=True))


def _present_words(
    lowered_text: str,
) -> tuple[tuple[_Cause, ...], bool]:
    """The `_CAUSES` whose words occur anywhere in a text's cleaned lines (lowered and joined), and whether
    any error word does: a word absent from the whole text is absent from each of its lines, so a text
    costs one look per word rather than one per word and line."""
    causes = tuple(cause for cause in _ALL_CAUSES if any(word in lowered_text for word in cause[1]))
    return causes, any(word in lowered_text for word in _ERROR_WORD_LIST)


def _score(
    line: str,
    causes: tuple[_Cause, ...] = _ALL_CAUSES,
    error_words: bool = True,
) -> tuple[int, bool]:
    """(score, prefer the last occurrence) of one cleaned line; see the module doc for the order.

    `causes` and `error_words` narrow the checks to what `_present_words` found in the line's text."""
    if _METADATA.match(line):
        return -1, False
    if _NOISE.match(line):
        return 0, False
    if not line.isascii():
        return _score_by_patterns(line)
    lowered = line.lower()
    cause = max(
        (
            score
            for (score, pattern), words in causes
            if any(word in lowered for word in words) and pattern.search(line)
        ),
        default=0,
    )
    if cause:
        return cause, False
    if _NAMED_EXCEPTION.match(line):
        return 45, True
    if (_DIGIT.search(line) or lowered.startswith(_SUMMARY_STARTS)) and _SUMMARY.search(line):
        return 40, True
    if _EXCEPTION.match(line):
        return 30, True
    if error_words and any(word in lowered for word in _ERROR_WORD_LIST) and _ERROR_WORDS.search(line):
        return 20, False
    return 10, False


def _score_by_patterns(line: str) -> tuple[int, bool]:
    """`_score` after the metadata and noise checks, every pattern run in full (any line, ASCII or not)."""
    cause = max((score for score, pattern in _CAUSES if pattern.search(line)), default=0)
    if cause:
        return cause, False
    if _NAMED_EXCEPTION.match(line):
        return 45, True
    if _SUMMARY.search(line):
        return 40, True
    if _EXCEPTION.match(line):
        return 30, True
    if _ERROR_WORDS.search(line):
        return 20, False
    return 10, False


def best_error_line(text: str | None) -> str:
    """The most informative line of an error text, cleaned but not masked ("" for an empty text)."""
    lines = _cleaned_lines(text)
    return _best_line(lines, *_present_words("\n".join(lines).lower()))


def _cleaned_lines(text: str | None) -> list[str]:
    raw = (text or "").replace("\\n", "\n").splitlines()[:MAX_SCANNED_LINES]
    return [line for line in map(_clean, raw) if line]


def _best_line(lines: list[str], causes: tuple[_Cause, ...], error_words: bool) -> str:
    best, best_score = "", -1
    for line in lines:
        score, prefer_last = _score(line, causes, error_words)
        if score > best_score or (score == best_score and prefer_last):
            best, best_score = line, score
    return _first_sentence(best)


_WORDS = tuple(sorted({word for words in _CAUSE_WORDS for word in words} | set(_ERROR_WORD_LIST)))


def _present_words_of_many(lowered_texts: list[str]) -> list[tuple[tuple[_Cause, ...], bool]]:
    """`_present_words` of many texts in one multi-pattern pass (polars' Aho-Corasick, every match
    including overlapping ones) instead of one substring search per word and text."""
    found = pl.Series(lowered_texts, dtype=pl.String).str.extract_many(list(_WORDS), overlapping=True)
    looks = []
    for words in found.to_list():
        present = set(words)
        causes = tuple(cause for cause in _ALL_CAUSES if not present.isdisjoint(cause[1]))
        looks.append((causes, not present.isdisjoint(_ERROR_WORD_LIST)))
    return looks


def _first_sentence(line: str) -> str:
    """A long line cut after its first sentence, when that sentence fits in a signature."""
    if len(line) <= SIGNATURE_CHARS:
        return line
    end = re.search(r"[.!?](?=\s)", line)
    return line[: end.end()] if end and end.end() <= SIGNATURE_CHARS else line


def mask_signature(line: str) -> str:
    """Mask what differs between occurrences of the same error: names, quoted values, paths, ids, numbers."""
    # A pattern runs only when the line holds what every one of its matches contains (a separator, a dot, a
    # digit, ...): on a long line `re.sub` tries every position, and most lines hold no path or number.
    masked = _MODULE.sub(r"\1 <name>", line) if "odule" in line else line
    masked = _URL.sub("<url>", masked) if "://" in masked else masked
    masked = _QUOTED.sub("<str>", masked)
    masked = _PATH.sub("<path>", masked) if "/" in masked or "\\" in masked else masked
    masked = _FILE.sub("<path>", masked) if "." in masked else masked
    if _DIGIT.search(masked):
        masked = _NUMBER.sub("<n>", _HEX.sub("<id>", masked))
    elif "-" in masked:  # a UUID-shaped id holds digits except in rare all-letter cases
        masked = _HEX.sub("<id>", masked)
    return " ".join(masked.split())[:SIGNATURE_CHARS]


def error_signature(text: str | None, redactor: Redactor | None = None) -> str:
    """The masked signature of a failed tool result or error event; "" when the text is empty.

    Redaction comes first, on the whole text: masking first could split a secret so no detector sees it.
    """
    if not text or not text.strip():
        return ""
    redacted = (redactor or Redactor()).redact(text).text
    return mask_signature(best_error_line(redacted))


def error_signatures(texts: list[str], redactor: Redactor | None = None) -> list[str]:
    """`error_signature` of each of `texts`, the same result at a fraction of the cost for many texts: one
    redaction batch (`Redactor.redact_all`) and one word look for all of them."""
    redacted, _ = (redactor or Redactor()).redact_all(texts)
    lines = [_cleaned_lines(text) if text and text.strip() else [] for text in redacted]
    looks = _present_words_of_many(["\n".join(text_lines).lower() for text_lines in lines])
    return [
        mask_signature(_best_line(text_lines, *look)) if text and text.strip() else ""
        for text, text_lines, look in zip(texts, lines, looks, strict=True)
    ]


def add_error_signatures(events: pl.DataFrame, redactor: Redactor | None = None) -> pl.DataFrame:
    """`events` with `error_signature` filled for failed tool results and error events (null elsewhere).

    Each distinct text is read once: the same failure repeated across a day costs one signature."""
    failed = (pl.col("type") == "error") | (
        (pl.col("type") == "tool_result") & pl.col("is_error").fill_null(False)
    )
    texts = events.filter(failed)["content"].unique().drop_nulls().to_list()
    signature_of = {
        text: signature or None
        for text, signature in zip(texts, error_signatures(texts, redactor), strict=True)
    }
    signatures = (
        events["content"].replace_strict(signature_of, default=None, return_dtype=pl.String)
        if signature_of
        else pl.Series([None] * events.height, dtype=pl.String)
    )
    return events.drop("error_signature", strict=False).with_columns(
        pl.when(failed).then(signatures).otherwise(None).alias("error_signature")
    )
