"""Secret redaction applied to every text before it reaches the lake or a playbook.

Interface (stable): `Redactor().redact(text) -> Redacted(text, counts)` where `counts` maps a secret kind
(e.g. "aws_access_key") to how many were replaced by `[REDACTED:<kind>]` markers. `redact_json` does the
same for any JSON-able value, and `redact_row` for a whole normalized event row.

Where the token shapes come from: detect-secrets (Yelp, maintained) is used for the patterns it keeps current
(GitLab, OpenAI's legacy keys, Slack webhooks), compiled directly instead of running
its line scanner, which analyses one line at a time through every plugin and was far too slow for a 1 GB
ingest and flagged thousands of ids and reasoning blobs (see benchmarks/README.md). Its other patterns lag
the issuers (GitHub's fine-grained `github_pat_`, Stripe's ~100-character keys, no Google, npm, Hugging Face
or SendGrid kind at all), so those, and the kinds that need context (whole private-key blocks, bearer tokens,
JWTs with their signature, secrets assigned to names), are written in `redaction_detectors.py`.

Failing closed: a detector that raises replaces the whole text by `[REDACTED:redaction_failed]` (counted,
and logged without the text), so a bug can cost a transcript its text but never leak a secret.

Speed: a 1 GB ingest holds ~400 MB of text and almost none of it is secret, so the common case must cost a
few C-level substring scans per text and nothing else. Each detector declares what every one of its matches
must contain: case-sensitive `anchors` (a literal, or a regex that starts with a literal so `re` can skip
ahead at memchr speed) looked up in the text itself, and lowercase `triggers` for its case-insensitive
words, looked up in the text lowered once. Detectors share checks (`sk-` gates both Anthropic and OpenAI
keys, `token` both bearer tokens and `*TOKEN=` assignments), so a text costs ~17 scans instead of one per
trigger word, and a detector's full regex runs only on the rare texts where one of its checks hits. A single
alternation regex of all trigger words would be one scan, but `re` tries every branch at every position and
measured 20x slower than the separate scans (benchmarks/README.md). A batch of texts joined together
(`redact_all`) is screened in one multi-pattern pass instead: polars' Aho-Corasick matcher (Rust, SIMD
prefilters) reports every anchor and trigger word present, a third of the cost of the separate scans; a
regex anchor is tried only where a literal it needs is present. Any error in that pass falls back to the
separate scans, so the screen is exactly as strict either way.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from pipeline.lazy import deferred_module
from pipeline.redaction_detectors import (
    DETECTORS,
    MIN_SECRET_TEXT_CHARS,
    Detector,
    is_secret_name,
    regex_anchor_literals,
)
from pipeline.redaction_values import shannon_entropy

pl = deferred_module("polars")  # only `redact_all`'s batch screen uses it

log = logging.getLogger(__name__)

__all__ = [
    "DETECTORS",
    "FAILED_KIND",
    "MARKER_PREFIX",
    "MIN_SECRET_TEXT_CHARS",
    "Detector",
    "Redacted",
    "Redactor",
    "add_counts",
    "fold_case",
    "marker",
    "shannon_entropy",
]

MARKER_PREFIX = "[REDACTED:"
FAILED_KIND = "redaction_failed"
"""The kind counted when a detector raised: the whole text is then replaced by this marker (fail closed)."""


def marker(kind: str) -> str:
    return f"{MARKER_PREFIX}{kind}]"


@dataclass(frozen=True, slots=True)
class Redacted:
    text: str
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return sum(self.counts.values())


_BATCH_CHARS = 4_000_000
"""`redact_all` screens texts in joined batches of about this size: big enough that the per-check call
overhead vanishes, small enough that the joined copy stays a few MB."""
_ONE_PASS_MIN_CHARS = 256_000
"""Below this a joined batch is screened by the separate scans: the one-pass screen costs ~2.5 ms per call
(polars series and matcher set-up), the separate scans ~16 ms per MB, the one pass ~5 ms per MB."""


# No anchor or trigger contains the separator, so a hit in a batch is never made up of two texts.
_BATCH_SEPARATOR = "\n\x00\n"
# Non-ASCII letters that the detectors' (?i) matching equates with ASCII ones, after str.lower():
# U+0130 lowers to "i" + U+0307, U+0131 (dotless i) and U+017F (long s) stay as they are.
_FOLD_TO_ASCII = str.maketrans({"\u0307": None, "\u0131": "i", "\u017f": "s"})
_Check = tuple[str | re.Pattern[str], bool, int]  # (needle, look in the lowered text, detectors it gates)


def fold_case(text: str) -> str:
    """The text lowered so that a trigger word is found wherever a detector's (?i) regex could match."""
    lowered = text.lower()
    if text.isascii():
        return lowered
    if "\u0307" in lowered or "\u0131" in lowered or "\u017f" in lowered:
        return lowered.translate(_FOLD_TO_ASCII)
    return lowered


class Redactor:
    """Replaces secrets with typed markers. Stateless and thread-safe: one instance can serve a whole ingest."""

    def __init__(self, detectors: Iterable[Detector] = DETECTORS) -> None:
        self.detectors = tuple(detectors)
        # Each distinct check once, with the detectors it lets through (as a bit mask over `self.detectors`).
        plan: dict[tuple[str | re.Pattern[str], bool], int] = {}
        for index, detector in enumerate(self.detectors):
            checks = [(anchor, False) for anchor in detector.anchors]
            checks += [(trigger.lower(), True) for trigger in detector.triggers]
            if not checks:
                raise ValueError(f"detector {detector.kind!r} needs at least one anchor or trigger")
            for check in checks:
                plan[check] = plan.get(check, 0) | (1 << index)
        self._plan: tuple[_Check, ...] = tuple(
            (needle, lowered, mask) for (needle, lowered), mask in plan.items()
        )
        anchor_words: set[str] = set()
        for needle, lowered, _ in self._plan:
            if lowered:
                continue
            if isinstance(needle, re.Pattern):
                anchor_words.update(regex_anchor_literals(needle.pattern))
            else:
                anchor_words.add(needle)
        self._anchor_words = sorted(anchor_words)
        self._trigger_words = sorted({needle for needle, lowered, _ in self._plan if lowered})  # type: ignore[misc]
        self._anchor_word_set = frozenset(self._anchor_words)
        self._screen_words = sorted(anchor_words | set(self._trigger_words))

    @staticmethod
    def _screen(text: str, plan: Iterable[_Check]) -> tuple[int, list[_Check]]:
        """The detectors worth running on `text` (a bit mask; 0 for nearly every text) and the checks that hit."""
        lowered = fold_case(text)
        mask = 0
        hits = []
        for check in plan:
            needle, in_lowered, detectors = check
            haystack = lowered if in_lowered else text
            if needle.search(haystack) if isinstance(needle, re.Pattern) else needle in haystack:
                mask |= detectors
                hits.append(check)
        return mask, hits

    def _screen_in_one_pass(self, text: str) -> tuple[int, list[_Check]]:
        """`_screen` with one multi-pattern pass for all literal anchors and trigger words (two passes when
        the text is not ASCII).

        Same result: a literal anchor hits when the matcher found it; a regex anchor when one of its
        literals was found and the regex then matches (with no literal known, the regex always runs); a
        trigger word when found case-insensitively in an ASCII text, or, in any other text, when it is in
        the text lowered by `fold_case` (which equates a few non-ASCII letters with ASCII ones).
        """
        column = pl.Series([text], dtype=pl.String)
        if text.isascii():
            # One case-insensitive pass for both: it reports every occurrence as the text spells it, so an
            # anchor is present exactly when some reported occurrence spells it in its own case.
            found = set(
                column.str.extract_many(self._screen_words, ascii_case_insensitive=True, overlapping=True)[0]
            )
            anchors = found & self._anchor_word_set
            triggers = {word.lower() for word in found}
        else:
            anchors = set(column.str.extract_many(self._anchor_words, overlapping=True)[0])
            lowered = fold_case(text)
            triggers = {word for word in self._trigger_words if word in lowered}
        mask = 0
        hits = []
        for check in self._plan:
            needle, in_lowered, detectors = check
            if in_lowered:
                hit = needle in triggers
            elif isinstance(needle, re.Pattern):
                literals = regex_anchor_literals(needle.pattern)
                hit = (not literals or any(word in anchors for word in literals)) and bool(
                    needle.search(text)
                )
            else:
                hit = needle in anchors
            if hit:
                mask |= detectors
                hits.append(check)
        return mask, hits

    def _screen_batch(self, joined: str) -> tuple[int, list[_Check]]:
        """Screen a joined batch: one pass when it is long enough to pay off, else (or if that pass raises)
        the separate scans; if those raise too, every detector is let through to the per-text screens."""
        if len(joined) >= _ONE_PASS_MIN_CHARS:
            try:
                return self._screen_in_one_pass(joined)
            except Exception as error:  # the separate scans below are exactly as strict
                log.warning(
                    "one-pass redaction screen failed (%s); using the separate scans", type(error).__name__
                )
        try:
            return self._screen(joined, self._plan)
        except Exception:  # `_redact_batch` then screens text by text, failing closed on each
            return -1, list(self._plan)

    def redact(self, text: str) -> Redacted:
        if len(text) < MIN_SECRET_TEXT_CHARS:
            return Redacted(text)
        try:
            mask, _ = self._screen(text, self._plan)
        except Exception as error:
            return _failed("screen", error)
        return self._redact_masked(text, mask) if mask else Redacted(text)

    def _redact_masked(self, text: str, mask: int) -> Redacted:
        counts: dict[str, int] = {}
        for index, detector in enumerate(self.detectors):
            if not mask >> index & 1:
                continue
            try:
                text, found = self._apply(detector, text)
            except Exception as error:  # a broken detector must never let its text through unredacted
                return _failed(detector.kind, error)
            if found:
                counts[detector.kind] = counts.get(detector.kind, 0) + found
        return Redacted(text, counts)

    def redact_all(self, texts: Sequence[str | None]) -> tuple[list[str | None], list[int]]:
        """`redact` over many texts: the redacted texts and the number of secrets replaced in each.

        Same result as one `redact` per text, at a fraction of the cost when secrets are rare: the checks
        run once over a batch of texts joined together, and per text only the checks that hit the batch
        are repeated. Texts without secrets come back as the very same objects.
        """
        redacted = list(texts)
        found = [0] * len(redacted)
        if type(self).redact is not Redactor.redact:  # a subclass that redacts its own way is honoured
            for index, text in enumerate(redacted):
                if text:
                    result = self.redact(text)
                    redacted[index], found[index] = result.text, result.n
            return redacted, found
        batch: list[int] = []
        size = 0
        for index, text in enumerate(redacted):
            if text is None or len(text) < MIN_SECRET_TEXT_CHARS:
                continue
            batch.append(index)
            size += len(text)
            if size >= _BATCH_CHARS:
                self._redact_batch(redacted, found, batch)
                batch, size = [], 0
        if batch:
            self._redact_batch(redacted, found, batch)
        return redacted, found

    def _redact_batch(self, texts: list[str | None], found: list[int], batch: list[int]) -> None:
        joined = _BATCH_SEPARATOR.join(texts[index] for index in batch)  # type: ignore[misc]
        mask, hits = self._screen_batch(joined)
        if not mask:
            return
        for index in batch:
            text: str = texts[index]  # type: ignore[assignment]
            try:
                text_mask, _ = self._screen(text, hits)
            except Exception as error:
                texts[index], found[index] = _failed("screen", error).text, 1
                continue
            if text_mask:
                result = self._redact_masked(text, text_mask)
                if result.counts:
                    texts[index], found[index] = result.text, result.n

    @staticmethod
    def _apply(detector: Detector, text: str) -> tuple[str, int]:
        """Replace `detector`'s accepted matches in `text`, as `pattern.sub` would; return the count too."""
        pieces: list[str] = []
        done = 0  # text[:done] is already in pieces
        found = 0
        for start, end in _accepted_spans(detector, text):
            found += 1
            pieces += (text[done:start], marker(detector.kind))
            done = end
        if not found:
            return text, 0
        pieces.append(text[done:])
        return "".join(pieces), found

    def secret_across(self, text: str, boundary: int) -> tuple[int, int, str] | None:
        """The span and kind of a secret in `text` that runs across position `boundary`, if there is one.

        For two stored texts that were one (content blocks of a message): `text` is the end of the first,
        a newline, and the start of the second, so a key split between them is found whole. Fails closed: a
        detector error reports the whole of `text` as the secret.
        """
        try:
            mask, _ = self._screen(text, self._plan)
            for index, detector in enumerate(self.detectors):
                if mask >> index & 1:
                    for start, end in _accepted_spans(detector, text):
                        if start < boundary < end - 1:
                            return start, end, detector.kind
        except Exception as error:
            _failed(FAILED_KIND, error)
            return 0, len(text), FAILED_KIND
        return None

    def redact_json(self, value: Any) -> tuple[Any, dict[str, int]]:
        """Redact every string inside a JSON-able value; a string under a secret-looking key is judged by that key.

        Structured payloads lose the `name=` context that text has (`{"password": "hunter22"}`), so the key
        name is put back in front of the value for the check and stripped again afterwards.
        """
        counts: Counter[str] = Counter()
        redacted = self._redact_value(value, None, counts)
        return redacted, dict(counts)

    def _redact_value(self, value: Any, key: str | None, counts: Counter[str]) -> Any:
        if isinstance(value, str):
            if key is not None and is_secret_name(key):
                prefix = f"{key}="
                result = self.redact(prefix + value)
                if result.text.startswith(prefix):
                    counts.update(result.counts)
                    return result.text[len(prefix) :]
            result = self.redact(value)
            counts.update(result.counts)
            return result.text
        if isinstance(value, dict):
            return {k: self._redact_value(v, str(k), counts) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._redact_value(v, key, counts) for v in value]
        return value

    def redact_row(self, row: Any) -> dict[str, int]:
        """Redact an event row's `content` and `input` in place (any object with those attributes)."""
        counts: Counter[str] = Counter()
        if row.content:
            result = self.redact(row.content)
            row.content = result.text
            counts.update(result.counts)
        if row.input is not None:
            row.input, found = self.redact_json(row.input)
            counts.update(found)
        return dict(counts)


_EDGE_CHARS = 512
"""A secret cut off by the end of a text is looked for in its last this many characters (keys are shorter)."""


def _accepted_spans(detector: Detector, text: str) -> Iterator[tuple[int, int]]:
    """Where `detector` finds a secret in `text` that its checks accept (never an earlier marker), in order."""
    done = 0
    for match in _matches(detector, text):
        if _accepted(detector, match, text):
            done = match.end(detector.group)
            yield match.span(detector.group)
    for edge in detector.edges:
        if edge.pattern.startswith("\\A"):
            match = edge.match(text)
        else:
            match = edge.search(text, max(done, len(text) - _EDGE_CHARS))
        if match is not None and match.start() >= done and _accepted(detector, match, text):
            done = match.end()
            yield match.span()


def _accepted(detector: Detector, match: re.Match[str], text: str) -> bool:
    secret = match.group(detector.group)
    if secret is None or secret.startswith(MARKER_PREFIX):
        return False
    start = match.start()
    if detector.bounded and start > 0 and text[start - 1].isascii() and text[start - 1].isalnum():
        return False
    if detector.vet is not None and not detector.vet(match):
        return False
    return detector.accept is None or detector.accept(secret)


def _failed(kind: str, error: Exception) -> Redacted:
    """Fail closed: the whole text becomes one marker, counted, and the failure logged (without the text)."""
    log.error(
        "redaction failed in %s (%s): the text was replaced by %s",
        kind,
        type(error).__name__,
        marker(FAILED_KIND),
    )
    return Redacted(marker(FAILED_KIND), {FAILED_KIND: 1})


def _matches(detector: Detector, text: str) -> Iterator[re.Match[str]]:
    """`pattern.finditer(text)`, trying only the trigger positions when every match starts at one."""
    if not (detector.starts_at_trigger and text.isascii()):  # lower() keeps positions for ASCII only
        yield from detector.pattern.finditer(text)
        return
    lowered = text.lower()
    starts: set[int] = set()
    for trigger in detector.triggers:
        at = lowered.find(trigger)
        while at >= 0:
            starts.add(at)
            at = lowered.find(trigger, at + 1)
    resume = 0  # matches do not overlap, as with finditer
    for start in sorted(starts):
        if start < resume:
            continue
        match = detector.pattern.match(text, start)
        if match is not None:
            yield match
            resume = match.end()


def add_counts(total: dict[str, int], more: dict[str, int]) -> dict[str, int]:
    """Accumulate per-kind counts (per session) without allocating a Counter per event."""
    for kind, n in more.items():
        total[kind] = total.get(kind, 0) + n
    return total
