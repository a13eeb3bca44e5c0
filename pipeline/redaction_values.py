"""When a candidate is a secret: the judgements `pipeline.redaction_detectors` applies to what its regexes find.

A regex says where a secret *could* be (`password: ...`, `Basic ...`, `X_TOKEN=...`); these functions say
whether the value there is one. They exist because session text is mostly code and prose, where the same
shapes hold type names (`password: string`), references (`os.environ["DB_PASSWORD"]`), record ids
(`idempotency_key` holding a UUID) and words ("Basic Authentication"): replacing those would destroy the
transcript without protecting anything.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections import Counter

_PLACEHOLDER = re.compile(
    r"^(?:\$\{?[A-Za-z_]|\$\(|<|\{\{|%\(|%[A-Za-z_]+%|\*+$|x+$|\.+$|null$|nil$|none$|true$|false$|undefined$"
    r"|changeme$|change-me$|example|your[_\-]|my[_\-]?(?:password|secret|token)|redacted|\[REDACTED|placeholder"
    r"|dummy$|test$|secret$|password$)",
    re.IGNORECASE,
)
# Values that name a type rather than hold a secret: `password: string` (TypeScript), `password: str` (Python),
# `token: String` (GraphQL, Kotlin), `secret: Bytes`.
_TYPE_NAMES = frozenset(
    re.findall(
        r"\w+",
        "string str number int integer float bool boolean bytes bytearray any unknown object text varchar char"
        " optional union none secretstr secretbytes option maybe nullable required literal list array",
    )
)
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_DOTTED_NAME = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*(?:\.[A-Za-z_$][A-Za-z0-9_$]*)+$")
_CODE_WORD = re.compile(r"(?i)^[a-z_][a-z0-9_]*(?:pass|pwd|secret|token|key|cred)[a-z0-9_]*$")

# Names whose `*_key` holds an identifier, not a credential: database and cache keys, idempotency keys,
# public halves, and the like. Only consulted for names whose one secret-looking word is `key`.
_ORDINARY_KEY_WORDS = frozenset(
    re.findall(
        r"\w+",
        "idempotency primary foreign sort partition cache public pub dedup dedupe lookup hash row unique composite"
        " map dict object storage index group join range routing message shard natural surrogate order sequence"
        " id item entity record node field column table bucket s3 file path cursor page next prev state host",
    )
)
_STRONG_WORDS = ("secret", "token", "passw", "passphrase", "credential", "pwd")
_STRONG_KEY_WORDS = frozenset(
    (
        "api",
        "access",
        "private",
        "secret",
        "auth",
        "signing",
        "encryption",
        "master",
        "client",
        "app",
        "admin",
    )
)
_PASSWORD_WORDS = frozenset(("password", "passwords", "passwd", "passphrase", "pwd", "pass"))
_WORD = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
# Letters that a (?i) regex equates with ASCII ones, so a name spelled with them matched a secret word.
_LOOK_ALIKES = str.maketrans({"\u212a": "K", "\u017f": "s", "\u0131": "i", "\u0130": "I"})
_JOINTS = re.compile(r"\r?\n|\\n")
_NAME_TAIL = re.compile(r"[A-Za-z0-9_.\-]{0,64}$")


def shannon_entropy(value: str) -> float:
    """Bits per character: random keys score ~4-6, words and identifiers ~2-3.5."""
    counts = Counter(value)
    total = len(value)
    return -sum(c / total * math.log2(c / total) for c in counts.values())


def is_placeholder(value: str) -> bool:
    return bool(_PLACEHOLDER.match(value))


def looks_random(value: str, allow_uuid: bool = True, least: int = 16) -> bool:
    """A value assigned to a secret-looking name is redacted only if it looks generated, not written."""
    if len(value) < least or is_placeholder(value):
        return False
    if not allow_uuid and _UUID.match(value):
        return False
    has_digit = any(ch.isdigit() for ch in value)
    has_alpha = any(ch.isalpha() for ch in value)
    return has_digit and has_alpha and shannon_entropy(value) >= 3.0


def is_password(value: str, after: str = "") -> bool:
    """Passwords are chosen by people, so low entropy is no evidence of harmlessness: only what reads as code
    (a type name, a reference, a call) or a placeholder is let through. `after` is the text following the
    value: `(` or `[` there means it was an expression (`getpass()`, `os.environ["X"]`)."""
    if len(value) < 4 or value.isdigit() or is_placeholder(value):
        return False
    if value.lower().rstrip("?!;,") in _TYPE_NAMES or after[:1] in ("(", "[", "<"):
        return False
    return not (_DOTTED_NAME.match(value) or _CODE_WORD.match(value))


def is_basic_credential(value: str) -> bool:
    """`Basic <base64>` is a credential only when it decodes to `user:password` (so "Basic Authentication"
    and "basic ReadOnlyAccessPolicy" are words, not secrets)."""
    value = _without_joints(value)
    try:
        decoded = base64.b64decode(value + "=" * (-len(value) % 4), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return False
    return ":" in decoded and decoded.isprintable()


def _without_joints(value: str) -> str:
    """A secret as it was before it was split over two content blocks (see `redaction_detectors._JOINT`)."""
    return _JOINTS.sub("", value) if "\n" in value or "\\n" in value else value


def is_jwt(token: str) -> bool:
    """A JWT's header is base64url JSON naming its algorithm: enough to tell one from a look-alike, and the
    only part left whole when a token is cut short."""
    header = _without_joints(token).split(".", 1)[0]
    try:
        decoded = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
    except (binascii.Error, ValueError):
        return False
    return isinstance(decoded, dict) and ("alg" in decoded or "typ" in decoded)


def assigned_name(text: str, start: int, end: int) -> str:
    """The whole variable name around a secret word found at text[start:end] (`CLIENT_SECRET_VALUE`)."""
    before = _NAME_TAIL.search(text, max(0, start - 64), start)
    return (before.group() if before else "") + text[start:end]


def name_strength(name: str) -> str | None:
    """How strongly a variable name says its value is secret: "password" (its last word is a password word:
    any value but code counts), "strong" (a secret word anywhere: `CLIENT_SECRET_VALUE`, `apiKey`), "key"
    (`STRIPE_KEY`: a key of no ordinary kind), or None (`idempotency_key`, React's `key`, `monkey`)."""
    words = [word.lower() for word in _WORD.findall(name.translate(_LOOK_ALIKES))]
    if not words:
        return None
    if words[-1] in _PASSWORD_WORDS and (
        words[-1] != "pass" or len(words) > 1
    ):  # `DB_PASS`, not "tests pass:"
        return "password"
    if any(strong in word for word in words for strong in _STRONG_WORDS):
        return "strong"
    for before, word in zip(words, words[1:], strict=False):
        if word in ("key", "keys"):
            if before in _STRONG_KEY_WORDS:
                return "strong"
            if before not in _ORDINARY_KEY_WORDS:
                return "key"
    if any(word.endswith("key") and word[:-3] in _STRONG_KEY_WORDS for word in words):  # APIKEY, apikey
        return "strong"
    return None
