"""How a playbook reads to people and to agents: PLAYBOOK.md and the guidance lines of the exports.

Every rendering is a pure function of the version (no clock, no randomness), so a backfill writes the same
bytes as the nightly run did and a diff of two renderings shows only what the dream changed. Everything an
entry holds may have come from sessions (its text, agent, evidence ids, rule values, retirement reason), so
every such field goes through `safe_text` here: one escaped line each, code spans for ids and values.
"""

from __future__ import annotations

from pipeline.playbooks.model import Entry, EntryStatus, Playbook, Section
from pipeline.playbooks.safe_text import code_span, inline_markdown, json_code, one_line

SECTION_TITLES = {
    Section.STRATEGIES: "Strategies",
    Section.RULES: "Rules",
    Section.MISTAKES: "Mistakes to avoid",
    Section.PROCEDURES: "Procedures and recoveries",
}


def _effect_line(entry: Entry) -> str:
    if entry.effect is None:
        return f"support {entry.support} sessions"
    e = entry.effect
    return (
        f"support {entry.support} sessions; success {e.rate_with:.0%} with vs {e.rate_without:.0%} without "
        f"(diff {e.diff:+.0%}, 95% CI {e.ci_low:+.0%}..{e.ci_high:+.0%}, q={e.p_value})"
    )


def agent_title(agent: str) -> str:
    """An entry's role as a heading or a label: `*` reads "All agents", any other name is a code span."""
    return "All agents" if agent == "*" else code_span(agent)


def guidance_line(entry: Entry) -> str:
    """One approved entry as agents read it (exports, prompts): its id and its escaped text, on one line."""
    return f"- [{one_line(entry.id)}] {inline_markdown(entry.text)}"


def _grouped(entries: list[Entry]) -> dict[str, dict[Section, list[Entry]]]:
    groups: dict[str, dict[Section, list[Entry]]] = {}
    for entry in sorted(entries, key=lambda e: (e.agent, list(Section).index(e.section), e.id)):
        groups.setdefault(entry.agent, {}).setdefault(entry.section, []).append(entry)
    return groups


def render_markdown(playbook: Playbook) -> str:
    """PLAYBOOK.md: every entry with its statistics, evidence and status, grouped by role and section."""
    lines = [
        f"# Playbook {inline_markdown(playbook.version)}",
        "",
        f"- parent: {inline_markdown(playbook.parent or 'none')}",
        f"- dreamer: {inline_markdown(playbook.dreamer)}; partition {inline_markdown(playbook.partition)}; "
        f"{playbook.n_sessions_reviewed} sessions reviewed over {len(playbook.window)} days",
        f"- status: {playbook.status}",
        "",
    ]
    lines += [f"> {inline_markdown(note)}" for note in playbook.notes]
    live = [e for e in playbook.entries if e.status != EntryStatus.RETIRED]
    for agent, sections in _grouped(live).items():
        lines += ["", f"## {agent_title(agent)}"]
        for section, entries in sections.items():
            lines += ["", f"### {SECTION_TITLES[section]}", ""]
            for entry in entries:
                lines.append(
                    f"- **{inline_markdown(entry.id)}** [{entry.status}] {inline_markdown(entry.text)}"
                )
                lines.append(f"  - {_effect_line(entry)}; helpful {entry.helpful}, harmful {entry.harmful}")
                if entry.rule is not None:
                    lines.append(
                        f"  - rule: {json_code(entry.rule.model_dump(mode='json', exclude_none=True))}"
                    )
                lines.append(f"  - evidence: {', '.join(code_span(s) for s in entry.evidence) or 'none'}")
                lines.append(
                    f"  - created in {inline_markdown(entry.created_in)}, "
                    f"updated in {inline_markdown(entry.updated_in)}"
                )
    retired = [e for e in playbook.entries if e.status == EntryStatus.RETIRED]
    if retired:
        lines += ["", "## Retired", ""]
        lines += [
            f"- ~~{inline_markdown(e.id)}~~ ({agent_title(e.agent)}) {inline_markdown(e.retired_reason)}"
            for e in sorted(retired, key=lambda e: e.id)
        ]
    return "\n".join(lines) + "\n"


def guidance_lines(playbook: Playbook, roles: list[str] | None = None) -> list[str]:
    """Approved entries only (for `roles` and everyone, when given): exports and prompts are what agents
    act on, candidates are for review."""
    lines = []
    for agent, sections in _grouped(playbook.active_entries()).items():
        if roles is not None and agent not in (*roles, "*"):
            continue
        who = "every agent" if agent == "*" else code_span(agent)
        for section, entries in sections.items():
            lines.append(f"{SECTION_TITLES[section]} for {who}:")
            lines += [guidance_line(e) for e in entries]
    return lines


def grouped_entries(playbook: Playbook) -> dict[str, dict[Section, list[Entry]]]:
    """Approved entries by role and section, in rendering order (for exports that write a file per group)."""
    return _grouped(playbook.active_entries())
