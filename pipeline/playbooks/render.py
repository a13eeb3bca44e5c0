"""How a playbook reads to people and to agents: PLAYBOOK.md and the three exports.

Every rendering is a pure function of the version (no clock, no randomness), so a backfill writes the same
bytes as the nightly run did and a diff of two renderings shows only what the dream changed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pipeline.playbooks.model import Entry, EntryStatus, Playbook, Section

ExportKind = Literal["memory", "skill", "prompt"]
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


def _grouped(entries: list[Entry]) -> dict[str, dict[Section, list[Entry]]]:
    groups: dict[str, dict[Section, list[Entry]]] = {}
    for entry in sorted(entries, key=lambda e: (e.agent, list(Section).index(e.section), e.id)):
        groups.setdefault(entry.agent, {}).setdefault(entry.section, []).append(entry)
    return groups


def render_markdown(playbook: Playbook) -> str:
    """PLAYBOOK.md: every entry with its statistics, evidence and status, grouped by role and section."""
    lines = [
        f"# Playbook {playbook.version}",
        "",
        f"- parent: {playbook.parent or 'none'}",
        f"- dreamer: {playbook.dreamer}; partition {playbook.partition}; "
        f"{playbook.n_sessions_reviewed} sessions reviewed over {len(playbook.window)} days",
        f"- status: {playbook.status}",
        "",
    ]
    lines += [f"> {note}" for note in playbook.notes]
    live = [e for e in playbook.entries if e.status != EntryStatus.RETIRED]
    for agent, sections in _grouped(live).items():
        lines += ["", f"## {'All agents' if agent == '*' else agent}"]
        for section, entries in sections.items():
            lines += ["", f"### {SECTION_TITLES[section]}", ""]
            for entry in entries:
                lines.append(f"- **{entry.id}** [{entry.status}] {entry.text}")
                lines.append(f"  - {_effect_line(entry)}; helpful {entry.helpful}, harmful {entry.harmful}")
                if entry.rule is not None:
                    lines.append(f"  - rule: `{entry.rule.model_dump_json(exclude_none=True)}`")
                lines.append(f"  - evidence: {', '.join(entry.evidence) or 'none'}")
                lines.append(f"  - created in {entry.created_in}, updated in {entry.updated_in}")
    retired = [e for e in playbook.entries if e.status == EntryStatus.RETIRED]
    if retired:
        lines += ["", "## Retired", ""]
        lines += [f"- ~~{e.id}~~ ({e.agent}) {e.retired_reason or ''}" for e in sorted(retired, key=lambda e: e.id)]
    return "\n".join(lines) + "\n"


def _guidance_lines(playbook: Playbook) -> list[str]:
    """Approved entries only: exports are what agents act on, candidates are for review."""
    lines = []
    for agent, sections in _grouped(playbook.active_entries()).items():
        who = "every agent" if agent == "*" else agent
        for section, entries in sections.items():
            lines.append(f"{SECTION_TITLES[section]} for {who}:")
            lines += [f"- [{e.id}] {e.text}" for e in entries]
    return lines


def export_playbook(playbook: Playbook, kind: ExportKind, to: Path) -> list[Path]:
    """Write a memory-tool directory, an Agent Skill folder or a system-prompt snippet under `to`."""
    to.mkdir(parents=True, exist_ok=True)
    if kind == "prompt":
        path = to / "playbook_prompt.md"
        body = _guidance_lines(playbook) or ["(no approved entries)"]
        text = [f"<playbook version=\"{playbook.version}\">", *body, "</playbook>"]
        path.write_text("\n".join(text) + "\n")
        return [path]
    if kind == "skill":
        folder = to / "reverie-playbook"
        folder.mkdir(parents=True, exist_ok=True)
        front = [
            "---",
            "name: reverie-playbook",
            f"description: Learned playbook {playbook.version}: tested rules, mistakes to avoid and recoveries "
            "from past sessions. Use when planning or setting decision parameters.",
            "---",
            "",
            f"# Reverie playbook {playbook.version}",
            "",
            "Follow the rules whose conditions hold; cite the entry id you followed in your decisions.",
            "",
        ]
        skill = folder / "SKILL.md"
        skill.write_text("\n".join(front + _guidance_lines(playbook)) + "\n")
        rules = folder / "rules.json"
        rules.write_text(
            json.dumps(
                [e.model_dump(mode="json", include={"id", "agent", "section", "rule"}) for e in playbook.active_entries()],
                indent=2,
                sort_keys=True,
            )
            + "\n"
        )
        return [skill, rules]
    # memory: many small, focused files, one per role and section, as the memory tool prefers.
    folder = to / "memories"
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    index = [f"# Playbook {playbook.version}", ""]
    for agent, sections in _grouped(playbook.active_entries()).items():
        for section, entries in sections.items():
            name = f"{'all' if agent == '*' else agent}_{section}.md"
            body = [f"# {SECTION_TITLES[section]} ({agent})", ""] + [f"- [{e.id}] {e.text}" for e in entries]
            (folder / name).write_text("\n".join(body) + "\n")
            written.append(folder / name)
            index.append(f"- {name}: {len(entries)} entries")
    (folder / "README.md").write_text("\n".join(index) + "\n")
    return [folder / "README.md", *written]
