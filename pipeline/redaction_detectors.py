"""The secret kinds `pipeline.redaction.Redactor` looks for: one `Detector` per kind, with its regex, the
cheap checks that gate it, and the judgement (`pipeline.redaction_values`) that keeps ordinary text intact.

Token shapes follow the issuers' current formats (GitHub fine-grained `github_pat_`, Stripe's ~100-char
`sk_live_51...`, Google `AIza`, npm, Hugging Face, SendGrid, Slack, AWS, Anthropic, OpenAI, GitLab from
detect-secrets' plugin patterns). Why every detector declares anchors or triggers is explained in
`pipeline.redaction`.

Split secrets: adapters join a message's content blocks with a newline, so a key that a client streamed in
two blocks is stored as `sk-ant-api03-Zq8X` + newline + `w2Lr...`. Token bodies therefore continue across
one or two line breaks (real or JSON-escaped) when the text after the break reads like key material (a digit
or a mid-word capital): the whole stored secret goes, and a following line of prose does not.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from detect_secrets.plugins.gitlab_token import GitLabTokenDetector
from detect_secrets.plugins.openai import OpenAIDetector
from detect_secrets.plugins.slack import SlackDetector

from pipeline.redaction_values import (
    assigned_name,
    is_basic_credential,
    is_jwt,
    is_password,
    is_placeholder,
    looks_random,
    name_strength,
)


@dataclass(frozen=True, slots=True)
class Detector:
    """One secret kind: the regex that finds it, which group is the secret, and when to bother looking.

    `group` 0 replaces the whole match; a named group keeps the surrounding context (`Bearer `, `user:`)
    readable, so a transcript still says *what* was there. `accept` vets a candidate (entropy, format
    checks) to keep ordinary text intact; `vet` does the same with the whole match in hand, for judgements
    that need the context (the variable name a value is assigned to).
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
    vet: Callable[[re.Match[str]], bool] | None = None
    bounded: bool = False
    """Token shapes must not start inside a longer alphanumeric run (base64 blobs, hashes): checked on each
    match rather than by a leading lookbehind, which would stop `re` from skipping ahead to the literal
    prefix (measured 25x slower)."""
    edges: tuple[re.Pattern[str], ...] = ()
    """Shapes of a secret cut off by the start or the end of the text (anchored there), tried only there."""


_NOT_BEFORE_ALNUM = "(?![A-Za-z0-9])"


# A line break between two halves of a split secret: real (CRLF or LF, once or twice) or JSON-escaped.
_JOINT = r"(?:\r?\n|\\n){1,2}"


def _body(chars: str, least: int, most: int | None = None) -> str:
    """`[chars]{least,most}` that may continue across a `_JOINT` when what follows reads like key material."""
    tail = rf"(?=(?-i:[{chars}]*?(?:\d|[a-z][A-Z])))"
    count = f"{{{least}}}" if most == least else f"{{{least},{'' if most is None else most}}}"
    return rf"(?:[{chars}]|{_JOINT}{tail}[{chars}]){count}"


def _cut_short(prefix: str, chars: str) -> re.Pattern[str]:
    """A token cut short at the very end of a text, as a torn last line or the first of two content blocks
    stores it: 8 characters of key material after a distinctive prefix are most of a secret."""
    return re.compile(rf"(?<![A-Za-z0-9]){prefix}(?=(?-i:[{chars}]*?(?:\d|[a-z][A-Z])))[{chars}]{{8,}}\Z")


def _token(
    kind: str, pattern: str, *anchors: str | re.Pattern[str], cut: tuple[str, str] | None = None
) -> Detector:
    """A self-identifying token; `cut` (its prefix and body characters) also takes one cut short."""
    edges = (_cut_short(*cut),) if cut is not None else ()
    return Detector(kind, re.compile(pattern + _NOT_BEFORE_ALNUM), anchors=anchors, bounded=True, edges=edges)


_ALNUM = "A-Za-z0-9"
_URLSAFE = r"A-Za-z0-9_\-"
_SLACK = r"A-Za-z0-9\-"
_BEARER = r"A-Za-z0-9\-._~+/"
_URL_PASSWORD = r"^:/?#\[\]@!$&'()*+,;=\s"

# --- secrets assigned to names -----------------------------------------------------------------------------
# `NAME=value`, `"name": "value"`, `name: value`, `name := value`, with optional quotes (also JSON-escaped ones
# inside serialized strings). The regex starts at the secret word and only runs to the end of the name; the
# part of the name before the word is read back by `assigned_name` (a pattern that spelled it out would be
# retried at every position of every text: measured 30x slower).
_NAME_REST = r"[A-Za-z0-9_\-]{0,40}+"  # possessive: the name ends where its characters do
_ASSIGN = r"(?:\\?[\"'])?\s*(?::=|=>|=|:)\s*(?:\\?[\"'])?"
_VALUE_CHARS = r"^\s\"'`,;&<>{}\[\]()\\"
_TAIL_CHARS = _VALUE_CHARS + ":="
# A value split by a line break goes on when its first part ends in punctuation (`correct-horse-`) or the
# next line starts with anything but a plain word (people choose passwords, so digits are not guaranteed),
# unless that line is the next `name: value`.
_VALUE = (
    rf"(?P<secret>[{_VALUE_CHARS}]+(?:(?:(?<=[\-_.+/~!@#$%^*]){_JOINT}"
    rf"|{_JOINT}(?=(?-i:[{_TAIL_CHARS}]*?(?:[^A-Za-z{_TAIL_CHARS[1:]}]|[a-z][A-Z]))))[{_TAIL_CHARS}]++(?!\s*[:=]))?)"
)
_PASSWORD_WORD = r"(?:pass(?:word|wd|phrase)?|pwd)"
_SECRET_WORD = r"(?:secret|token|credential|key|pass(?:word|wd|phrase)?|pwd)"


def _vet_password(match: re.Match[str]) -> bool:
    name = assigned_name(match.string, match.start(), match.start("name_end"))
    if name_strength(name) != "password":
        return False
    return is_password(match.group("secret"), match.string[match.end("secret") : match.end("secret") + 1])


def _vet_assignment(match: re.Match[str]) -> bool:
    name = assigned_name(match.string, match.start(), match.start("name_end"))
    strength = name_strength(name)
    value = match.group("secret")
    after = match.string[match.end("secret") : match.end("secret") + 1]
    if strength == "password":
        return is_password(value, after)
    if strength is None or after in ("(", "["):  # `token = Base.url_encode64(...)` is code
        return False
    # A value cut short by the end of its text (a torn line, the first of two blocks) is shorter than a key.
    cut_short = match.end("secret") == len(match.string)
    return looks_random(value, allow_uuid=strength == "strong", least=8 if cut_short else 16)


# The lines of a PEM body: base64 (or `Proc-Type:`-style headers) each filling its whole line.
_PEM_BREAK = r"(?:\r?\n|\\r\\n|\\n)"
_PEM_LINES = (
    rf"(?:{_PEM_BREAK}(?:[A-Za-z0-9+/=]+|[A-Za-z][A-Za-z\-]*: [^\r\n\\]*)(?={_PEM_BREAK}|[\"'`]|\Z))*"
)
_PEM_LABEL = r"[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----"
_PEM_MAX_CHARS = 16_000
"""A private key's body up to its END line is at most this long (an 8192-bit RSA key is ~6,500 characters);
beyond it, or with no END line at all, only the base64 lines right after BEGIN are taken."""

DETECTORS: tuple[Detector, ...] = (
    Detector(
        "private_key",
        re.compile(
            rf"-----BEGIN{_PEM_LABEL}(?:(?:(?!-----BEGIN)[\s\S]){{0,{_PEM_MAX_CHARS}}}?-----END{_PEM_LABEL}"
            rf"|{_PEM_LINES})"
        ),
        anchors=("PRIVATE KEY",),
        # the second half of a key split over two texts: body lines up to END, from the text's start
        edges=(re.compile(rf"\A\s*(?:[A-Za-z0-9+/=]{{16,}}{_PEM_BREAK})+-----END{_PEM_LABEL}"),),
    ),
    _token("anthropic_key", rf"sk-ant-{_body(_URLSAFE, 20)}", "sk-ant-", cut=("sk-ant-", _URLSAFE)),
    Detector(
        "openai_key",
        re.compile(
            rf"(?:{OpenAIDetector.denylist[0].pattern}"
            rf"|sk-(?:proj|svcacct|admin|None)-{_body(_URLSAFE, 20)}|sk-{_body(_ALNUM, 32)}){_NOT_BEFORE_ALNUM}"
        ),
        anchors=("sk-",),
        bounded=True,
        edges=(_cut_short("sk-(?:proj|svcacct|admin)-", _URLSAFE),),
    ),
    _token(
        "aws_access_key",
        rf"(?:A3T[A-Z0-9]|ABIA|ACCA|AKIA|ASIA){_body('0-9A-Z', 16, 16)}",
        re.compile("A(?:3T|BIA|CCA|KIA|SIA)"),
        cut=("(?:AKIA|ASIA)", "0-9A-Z"),
    ),
    Detector(
        "aws_secret_key",
        re.compile(
            r"(?i)aws.{0,20}?(?:secret|key|pwd|pw|password|pass|token).{0,20}?(?:=|:)\s*\\?[\"']?"
            rf"(?P<secret>(?<![A-Za-z0-9/+]){_body('A-Za-z0-9/+', 40, 40)}(?![A-Za-z0-9/+]))"
        ),
        ("aws",),
        group="secret",
        starts_at_trigger=True,
    ),
    _token(
        "github_token",
        rf"(?:gh[pousr]_{_body('A-Za-z0-9_', 36)}|github_pat_{_body('A-Za-z0-9_', 22)})",
        re.compile("gh[pousr]_"),
        "github_pat_",
        cut=("(?:gh[pousr]_|github_pat_)", "A-Za-z0-9_"),
    ),
    Detector(
        "gitlab_token",
        re.compile("|".join(f"(?:{p.pattern})" for p in GitLabTokenDetector.denylist)),
        edges=(_cut_short("gl[a-z]{2,5}-", _URLSAFE),),
        anchors=(re.compile("gl[a-z]{2,5}-"), "GR1348941"),
    ),
    _token(
        "slack_token",
        rf"(?:xoxe\.xox[bp]|xox[abposre]|xapp)-\d+-{_body(_SLACK, 8)}",
        re.compile(r"x(?:ox[abposre][-.]|app-)"),
        cut=(r"xox[abpe]-\d+-", _SLACK),
    ),
    Detector("slack_webhook", re.compile(SlackDetector.denylist[1].pattern), anchors=("hooks.slack.com",)),
    _token(
        "stripe_key",
        rf"(?:[sr]k_(?:live|test)_{_body(_ALNUM, 20)}|whsec_{_body(_ALNUM, 24)})",
        "k_live_",
        "k_test_",
        "whsec_",
        cut=("(?:[sr]k_(?:live|test)_|whsec_)", _ALNUM),
    ),
    _token("google_api_key", rf"AIza{_body(_URLSAFE, 35, 35)}", "AIza", cut=("AIza", _URLSAFE)),
    _token("npm_token", rf"npm_{_body(_ALNUM, 36, 36)}", "npm_", cut=("npm_", _ALNUM)),
    _token("huggingface_token", rf"hf_{_body(_ALNUM, 30)}", "hf_", cut=("hf_", _ALNUM)),
    _token(
        "sendgrid_key",
        rf"SG\.{_body(_URLSAFE, 16)}\.{_body(_URLSAFE, 30)}",
        "SG.",
        cut=(r"SG\.", r"A-Za-z0-9_\-."),
    ),
    _token("pypi_token", rf"pypi-AgE[IN]{_body(_URLSAFE, 50)}", "pypi-AgE"),
    Detector(
        "jwt",
        re.compile(
            rf"eyJ{_body(_URLSAFE, 8)}={{0,2}}\.(?:{_JOINT})?eyJ{_body(_URLSAFE, 8)}={{0,2}}\."
            rf"(?:{_body(_URLSAFE, 1)}=*)?{_NOT_BEFORE_ALNUM}"
        ),
        anchors=("eyJ",),
        accept=is_jwt,
        bounded=True,
        # cut short at the end of a text: the header and what there is of the claims
        edges=(re.compile(rf"(?<![A-Za-z0-9])eyJ[{_URLSAFE}]{{8,}}={{0,2}}\.eyJ[{_URLSAFE}]*\Z"),),
    ),
    Detector(
        "bearer_token",
        re.compile(rf"(?i)\b(?:bearer|token)\s+(?P<secret>{_body(_BEARER, 16)}=*)"),
        ("bearer", "token"),
        group="secret",
        starts_at_trigger=True,
        accept=looks_random,
    ),
    Detector(
        "basic_auth",
        re.compile(rf"(?i)\bbasic\s+(?P<secret>{_body('A-Za-z0-9+/', 4)}={{0,2}})(?![A-Za-z0-9+/=])"),
        ("basic",),
        group="secret",
        starts_at_trigger=True,
        accept=is_basic_credential,
    ),
    Detector(
        "url_password",
        # detect-secrets' BasicAuthDetector pattern, with its capture group named so only the password goes.
        re.compile(rf"://[^:/?#\[\]@!$&'()*+,;=\s]+:(?P<secret>{_body(_URL_PASSWORD, 1)})@"),
        anchors=("://",),
        group="secret",
        accept=lambda value: not is_placeholder(value),
    ),
    Detector(
        "password",
        re.compile(rf"(?i){_PASSWORD_WORD}{_NAME_REST}(?P<name_end>){_ASSIGN}{_VALUE}"),
        ("pass", "pwd"),
        group="secret",
        starts_at_trigger=True,
        vet=_vet_password,
    ),
    Detector(
        "secret_assignment",
        re.compile(rf"(?i){_SECRET_WORD}{_NAME_REST}(?P<name_end>){_ASSIGN}{_VALUE}"),
        ("secret", "token", "credential", "key", "pass", "pwd"),
        group="secret",
        starts_at_trigger=True,
        vet=_vet_assignment,
    ),
)


MIN_SECRET_TEXT_CHARS = 7
"""The shortest text any detector can match (`://a:b@`): shorter texts are returned untouched."""


def is_secret_name(name: str) -> bool:
    """Whether a JSON key names a secret, so its string value is judged as if assigned (`"password": "..."`)."""
    return name_strength(name) is not None


REGEX_ANCHOR_LITERALS: dict[str, tuple[str, ...]] = {
    "A(?:3T|BIA|CCA|KIA|SIA)": ("A3T", "ABIA", "ACCA", "AKIA", "ASIA"),
    "gh[pousr]_": ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
    "gl[a-z]{2,5}-": ("gl",),
    "x(?:ox[abposre][-.]|app-)": ("xox", "xapp-"),
}
"""For each regex anchor, literals one of which every match contains: the multi-pattern screen looks for
these and runs the regex only when one is there. A regex anchor missing here is derived from its leading
literal characters, or, with none, run on every batch (tests/redaction check the table covers them all)."""
_REGEX_METACHARACTERS = set(".^$*+?{}[]\\|()")


def regex_anchor_literals(pattern: str) -> tuple[str, ...]:
    """The literals of `REGEX_ANCHOR_LITERALS`, else the pattern's leading literal run (may be empty)."""
    if pattern in REGEX_ANCHOR_LITERALS:
        return REGEX_ANCHOR_LITERALS[pattern]
    prefix = ""
    for char in pattern:
        if char in _REGEX_METACHARACTERS:
            if char in "?*{":  # the last literal is optional or repeated: not required as it stands
                prefix = prefix[:-1]
            break
        prefix += char
    return (prefix,) if prefix else ()
