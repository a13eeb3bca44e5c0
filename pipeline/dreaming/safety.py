"""The safety screen: destructive or exfiltrating actions never become a recommendation, whatever their numbers.

Statistics cannot tell a good habit from a planted one: ten sessions that "recovered" by piping a download to
a shell look exactly like ten that recovered by installing a package. So before a finding becomes an entry,
and before a model-proposed lesson is accepted, what it recommends is matched against the table below; a
match drops it with the hazard's name as the recorded reason, and a live entry that matches is retired.
Entries that tell agents to *avoid* something (failing sequences, error signatures) are not screened for
actions: warning against `rm -rf` is what we want; only text addressed to the reader drops them. Model-written text is always screened, whatever its kind, since
its prose may recommend what its rule says to avoid.

Values reach the screen already cleaned (`safe_text.clean_value`: `|` reads `/`, `<` `>` read `‹` `›`), so
the patterns accept both forms. The table errs on the side of dropping: a lost lesson costs one night, an
approved `curl | sh` costs a machine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.dreaming.findings import Finding
from pipeline.playbooks.model import Entry

_PIPE = r"[|/]"


@dataclass(frozen=True)
class Hazard:
    name: str
    pattern: re.Pattern[str]
    reason: str


def _hazard(name: str, pattern: str, reason: str) -> Hazard:
    return Hazard(name, re.compile(pattern, re.IGNORECASE), reason)


HAZARDS: tuple[Hazard, ...] = (
    _hazard(
        "recursive_delete",
        r"\brm\s+(?:-\w*\s+)*-\w*[rR]|\brm\s+--recursive|--no-preserve-root|\brmdir\s+/s\b|\bdel\s+/[sq]\b"
        r"|remove-item\b.*-recurse|\bshutil\.rmtree\b|\bfind\b.*\s-delete\b|\bgit\s+clean\s+-\w*[fdx]",
        "recursive or forced deletion",
    ),
    _hazard(
        "pipe_to_shell",
        rf"\b(?:curl|wget|iwr|invoke-webrequest|fetch)\b.*{_PIPE}\s*(?:sudo\s+)?(?:ba|z|k|da|fi)?sh\b"
        rf"|\b(?:curl|wget)\b.*{_PIPE}\s*(?:sudo\s+)?(?:python\d?|perl|ruby|node|iex|invoke-expression)\b"
        r"|\b(?:ba)?sh\s+[<\u2039]\s*\(\s*(?:curl|wget)|\$\(\s*(?:curl|wget)\b|\biex\s*\(.*downloadstring",
        "runs a download as code",
    ),
    _hazard(
        "credential_read",
        r"~/\.ssh\b|\.ssh/|\bid_(?:rsa|dsa|ecdsa|ed25519)\b|~/\.aws\b|\.aws/(?:credentials|config)"
        r"|(?:^|[\s/'\"=:(])\.env(?:\.\w+)?\b|\.netrc\b|\.npmrc\b|\.pypirc\b|\.docker/config\.json|\.kube/config"
        r"|/etc/(?:shadow|sudoers)\b|\.git-credentials\b|\.gnupg\b|\bsecurity\s+find-(?:generic|internet)-password"
        r"|\bprintenv\b|\bgcloud\s+auth\s+print-access-token\b",
        "reads a credential store",
    ),
    _hazard(
        "disable_checks",
        r"--no-verify\b|--no-gpg-sign\b|core\.hookspath|--insecure\b|\bverify\s*=\s*false\b"
        r"|sslverify\s+false|node_tls_reject_unauthorized\s*=\s*0|pythonhttpsverify\s*=\s*0"
        r"|--disable-(?:checks?|hooks|verification)\b|--skip-(?:checks?|tests|hooks|verification)\b"
        r"|--trusted-host\b|strict-ssl\s+false|\bset\s+\+e\b",
        "disables a safety check",
    ),
    _hazard(
        "history_rewrite",
        r"\bgit\s+push\b.*(?:--force\b|--force-with-lease\b|\s-f\b|\s\+\w)|\bgit\s+reset\s+--hard\b"
        r"|\bgit\s+filter-(?:branch|repo)\b|\bgit\s+branch\s+-D\b",
        "rewrites or discards shared history",
    ),
    _hazard(
        "open_permissions",
        r"\bchmod\s+(?:-\w+\s+)*(?:0?777|a\+rwx|o\+w|-R\s+[0-7]*7)\b|\bchown\s+-R\s+\S+\s+/\s*$|\bsudo\s+chmod\b",
        "opens file permissions to everyone",
    ),
    _hazard(
        "exfiltration",
        r"\b(?:curl|wget)\b.*(?:(?-i:\s-[dTF]\b)|--data\S*|--upload-file|--post-file)"
        r"|\bnc\b.*\s-e\b|/dev/tcp/|\bscp\b.*@|\brsync\b.*@.*:|\bbase64\b.*[|/]\s*(?:curl|nc|wget)\b",
        "sends data off the machine",
    ),
    _hazard(
        "disk_destruction",
        r"\bmkfs(?:\.\w+)?\b|\bdd\s+.*of=/dev/|>\s*/dev/sd[a-z]|:\(\)\s*\{\s*:\s*[|/]\s*:\s*&\s*\}\s*;\s*:"
        r"|\bshred\b|\bwipefs\b",
        "destroys a disk or the system",
    ),
    _hazard(
        "instruction_override",
        r"\b(?:ignore|disregard|forget|override)\b.{0,40}\b(?:previous|prior|above|earlier|all|system|your)\b"
        r".{0,20}\b(?:instructions?|rules?|prompts?|guidelines?)\b|\bsystem\s+prompt\b|\byou\s+are\s+now\b",
        "addresses the agent reading the playbook",
    ),
)

# Readable forms of what `clean_value` replaced, so `curl x | sh` and `curl x / sh` both match.
_UNCLEAN = str.maketrans({"\u2039": "<", "\u203a": ">", "`": " "})


def hazard_of(*texts: str | None, hazards: tuple[Hazard, ...] = HAZARDS) -> Hazard | None:
    """The first of `hazards` any of `texts` shows, or None."""
    for text in texts:
        if not text:
            continue
        plain = " ".join(text.translate(_UNCLEAN).split())
        for hazard in hazards:
            if hazard.pattern.search(plain):
                return hazard
    return None


def describe(hazard: Hazard) -> str:
    """The recorded reason: stable wording (no session text), so reports and retirements stay auditable."""
    return f"safety screen: {hazard.reason} ({hazard.name})"


RECOMMENDING_KINDS = {"parameter", "recovery", "context_risk", "precondition", "substitution"}


def _addressing(*texts: str | None) -> Hazard | None:
    """Text that talks to the agent reading the playbook is never a tool name or an error worth quoting."""
    return hazard_of(*texts, hazards=tuple(h for h in HAZARDS if h.name == "instruction_override"))


def finding_hazard(finding: Finding) -> Hazard | None:
    """What a recommending finding would have agents do, screened; warnings pass (see module doc) unless
    what they quote addresses the reader."""
    rule = finding.rule.model_dump_json(exclude_none=True) if finding.rule else None
    if finding.kind not in RECOMMENDING_KINDS:
        return _addressing(finding.text, rule)
    return hazard_of(finding.text, rule, finding.tags.get("calls"))


def entry_hazard(entry: Entry) -> Hazard | None:
    """A live entry screened the same way; model-written entries always, whatever their rule says."""
    kind = entry.rule.kind if entry.rule else None
    rule = entry.rule.model_dump_json(exclude_none=True) if entry.rule else None
    if entry.source == "statistical" and kind in ("avoid_sequence", "hazard"):
        return _addressing(entry.text, rule)
    return hazard_of(entry.text, rule)


def screen_findings(findings: list[Finding]) -> tuple[list[Finding], list[tuple[Finding, str]]]:
    """Findings that pass, and each dropped one with its recorded reason."""
    kept, dropped = [], []
    for finding in findings:
        hazard = finding_hazard(finding)
        if hazard is None:
            kept.append(finding)
        else:
            dropped.append((finding, describe(hazard)))
    return kept, dropped
