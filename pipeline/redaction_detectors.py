"""The secret kinds `pipeline.redaction.Redactor` looks for: one `Detector` per kind, with its regex, the
cheap checks that gate it, and the acceptance tests that keep ordinary text intact.

Where the shapes come from (detect-secrets' plugin patterns, compiled directly, plus the kinds written here)
and why every detector declares anchors or triggers is explained in `pipeline.redaction`.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from detect_secrets.plugins.aws import AWSKeyDetector
from detect_secrets.plugins.github_token import GitHubTokenDetector
from detect_secrets.plugins.gitlab_token import GitLabTokenDetector
from detect_secrets.plugins.jwt import JwtTokenDetector
from detect_secrets.plugins.openai import OpenAIDetector
from detect_secrets.plugins.slack import SlackDetector
from detect_secrets.plugins.stripe import StripeDetector


@dataclass(frozen=True, slots=True)
class Detector:
    """One secret kind: the regex that finds it, which group is the secret, and when to bother looking.

    `group` 0 replaces the whole match; a named group keeps the surrounding context (`Bearer `, `user:`)
    readable, so a transcript still says *what* was there. `accept` vets a candidate (entropy, format
    checks) to keep ordinary text intact.
    """

    kind: str
    pattern: re.Pattern[str]
    triggers: tuple[str, ...] = ()
    """Lowercase substrings, looked up in the lowered text: one of them is in every match of `pattern`."""
    group: int | str = 0
    accept: Callable[[str], bool] | None = None
    anchors: tuple[str | re.Pattern[str], ...] = ()
    """Case-sensitive substrings (or literal-prefixed regexes) of the text itself, for case-sensitive patterns."""
    starts_at_trigger: bool = False
    """Every match begins where a trigger occurs: the regex is then tried only there, not at every position
    (a case-insensitive pattern without a literal prefix scans text about 20x slower than `str.find`)."""


def _bounded(pattern: str) -> str:
    """Token shapes must not start or end inside a longer alphanumeric run (base64 blobs, hashes)."""
    return rf"(?<![A-Za-z0-9]){pattern}(?![A-Za-z0-9])"


def shannon_entropy(value: str) -> float:
    """Bits per character: random keys score ~4-6, words and identifiers ~2-3.5."""
    counts = Counter(value)
    total = len(value)
    return -sum(c / total * math.log2(c / total) for c in counts.values())


_PLACEHOLDER = re.compile(
    r"^(?:\$\{?[A-Za-z_]|<|\{\{|%\(|\*+$|x+$|null$|none$|true$|false$|undefined$|changeme$|redacted|\[REDACTED)",
    re.IGNORECASE,
)


def _looks_random(value: str) -> bool:
    """A value assigned to a secret-looking name is redacted only if it looks generated, not written."""
    if len(value) < 16 or _PLACEHOLDER.match(value):
        return False
    has_digit = any(ch.isdigit() for ch in value)
    has_alpha = any(ch.isalpha() for ch in value)
    return has_digit and has_alpha and shannon_entropy(value) >= 3.0


def _is_password(value: str) -> bool:
    """Passwords are chosen by people, so low entropy is no evidence of harmlessness; only placeholders pass."""
    return len(value) >= 4 and not _PLACEHOLDER.match(value) and not value.isdigit()


def _valid_jwt(token: str) -> bool:
    header_and_payload = ".".join(token.split(".")[:2])
    return JwtTokenDetector.is_formally_valid(header_and_payload)


def _from_detect_secrets(plugin: type, index: int = 0) -> str:
    return plugin.denylist[index].pattern  # type: ignore[attr-defined]


# Names a secret is assigned to: *KEY, *TOKEN, *SECRET, PASSWORD and friends, as `NAME=value`, `"name": "value"`,
# `name: value` (YAML/headers), with optional quotes (also JSON-escaped ones inside serialized strings).
# Only the name's ending is matched: a pattern that also spelled out the prefix would be retried at every
# position of every text (measured 30x slower); the value is all that gets replaced anyway.
_SECRET_NAME = r"(?:key|token|secret|credential|auth)s?"
_PASSWORD_NAME = r"(?:password|passwd|passphrase|pwd)"
_ASSIGN = r"(?:\\?[\"'])?\s*(?:=|:|=>)\s*(?:\\?[\"'])?"
_VALUE = r"(?P<secret>[^\s\"'`,;&<>{}\[\]()\\]+)"

DETECTORS: tuple[Detector, ...] = (
    Detector(
        "private_key",
        re.compile(
            r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----.*?(?:-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\Z)",
            re.DOTALL,
        ),
        anchors=("PRIVATE KEY",),
    ),
    Detector("anthropic_key", re.compile(_bounded(r"sk-ant-[A-Za-z0-9_\-]{20,}")), anchors=("sk-",)),
    Detector(
        "openai_key",
        re.compile(
            _bounded(
                rf"(?:{_from_detect_secrets(OpenAIDetector)}|sk-(?:proj|svcacct|admin|None)-[A-Za-z0-9_\-]{{20,}})"
            )
        ),
        anchors=("sk-",),
    ),
    Detector(
        "aws_access_key",
        re.compile(_bounded(_from_detect_secrets(AWSKeyDetector, 0))),
        anchors=(re.compile("A(?:3T|BIA|CCA|KIA|SIA)"),),
    ),
    Detector(
        "aws_secret_key",
        re.compile(
            r"(?i)aws.{0,20}?(?:secret|key|pwd|pw|password|pass|token).{0,20}?(?:=|:)\s*\\?[\"']?"
            r"(?P<secret>(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+]))"
        ),
        ("aws",),
        group="secret",
        starts_at_trigger=True,
    ),
    Detector(
        "github_token",
        re.compile(
            _bounded(rf"(?:{_from_detect_secrets(GitHubTokenDetector)}|github_pat_[A-Za-z0-9_]{{22,}})")
        ),
        anchors=(re.compile("gh(?:[pousr]_|ithub_pat_)"),),
    ),
    Detector(
        "gitlab_token",
        re.compile("|".join(f"(?:{p.pattern})" for p in GitLabTokenDetector.denylist)),
        anchors=(re.compile("gl[a-z]{2,5}-"), "GR1348941"),
    ),
    Detector(
        "slack_token",
        # detect-secrets' pattern stops at the first capital of the final segment, leaving most of a real
        # bot token behind: take the whole segment.
        re.compile(r"xox[abposr]-(?:\d+-)+[A-Za-z0-9]+|xapp-\d-[A-Za-z0-9-]{20,}"),
        anchors=(re.compile("x(?:ox[abposr]|app)-"),),
    ),
    Detector(
        "slack_webhook", re.compile(_from_detect_secrets(SlackDetector, 1)), anchors=("hooks.slack.com",)
    ),
    Detector("stripe_key", re.compile(_bounded(_from_detect_secrets(StripeDetector))), anchors=("k_live_",)),
    Detector(
        "jwt",
        re.compile(_bounded(r"eyJ[A-Za-z0-9_\-]{8,}={0,2}\.eyJ[A-Za-z0-9_\-]{8,}={0,2}\.[A-Za-z0-9_\-+/=]*")),
        anchors=("eyJ",),
        accept=_valid_jwt,
    ),
    Detector(
        "bearer_token",
        re.compile(r"(?i)\b(?:bearer|token)\s+(?P<secret>[A-Za-z0-9\-._~+/]{16,}=*)"),
        ("bearer", "token"),
        group="secret",
        starts_at_trigger=True,
        accept=_looks_random,
    ),
    Detector(
        "basic_auth",
        re.compile(r"(?i)\bbasic\s+(?P<secret>[A-Za-z0-9+/]{12,}={0,2})(?![A-Za-z0-9+/=])"),
        ("basic",),
        group="secret",
        starts_at_trigger=True,
        accept=lambda value: shannon_entropy(value) >= 3.0,
    ),
    Detector(
        "url_password",
        # detect-secrets' BasicAuthDetector pattern, with its capture group named so only the password goes.
        re.compile(r"://[^:/?#\[\]@!$&'()*+,;=\s]+:(?P<secret>[^:/?#\[\]@!$&'()*+,;=\s]+)@"),
        anchors=("://",),
        group="secret",
        accept=lambda value: not _PLACEHOLDER.match(value) and not value.startswith("[REDACTED"),
    ),
    Detector(
        "password",
        re.compile(rf"(?i){_PASSWORD_NAME}{_ASSIGN}{_VALUE}"),
        ("pass", "pwd"),
        group="secret",
        starts_at_trigger=True,
        accept=_is_password,
    ),
    Detector(
        "secret_assignment",
        re.compile(rf"(?i){_SECRET_NAME}{_ASSIGN}{_VALUE}"),
        ("key", "token", "secret", "credential", "auth"),
        group="secret",
        starts_at_trigger=True,
        accept=_looks_random,
    ),
)


MIN_SECRET_TEXT_CHARS = 7
"""The shortest text any detector can match (`://a:b@`): shorter texts are returned untouched."""

_SECRET_KEY = re.compile(rf"(?i).*(?:{_SECRET_NAME}|{_PASSWORD_NAME})")
