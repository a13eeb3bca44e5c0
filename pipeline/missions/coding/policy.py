"""The offline crew: a broad prior over the catalog's commands, bent by the lessons the crew read.

Every draw comes from its own seeded stream keyed by the task and the decision, so two crews that differ
only in one lesson make every other choice alike (held-out arms are paired task by task), and a re-flown
task repeats exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pipeline.agents.team import Message, TurnContext
from pipeline.missions.coding import catalog
from pipeline.missions.coding.crew import CODER, LEAD, MAX_TEST_RUNS_PER_TURN, PLANNER, TESTER
from pipeline.missions.coding.lessons import Lesson
from pipeline.missions.coding.world import Task, stream

SETUP_PRIOR = 0.5  # chance the prior runs each setup step it knows
READ_PRIOR = 0.7
FORMAT_PRIOR = 0.4
PRE_COMMIT_PRIOR = 0.2
PUSH_PRIOR = 0.3
COMMIT_RETRY_PRIOR = 0.5
EDIT_PRIOR = (("Edit", 0.5), ("sed", 0.3), ("Write", 0.2))
REMEDY_PRIOR = (("rerun", 0.35), ("setup", 0.15), ("switch", 0.25), ("edit_test", 0.25))
MAX_REVIEW_ROUNDS = 2
Option = tuple[str, frozenset[str], float]  # (command or tool, the actions it is named by, prior weight)


@dataclass
class OfflinePolicy:
    """What the four offline roles of one task share: the lessons read, the dice, the commands run."""

    task: Task
    lessons: list[Lesson]
    exploration: float = 0.0
    explored: int = 0
    done: set[str] = field(default_factory=set)  # commands that succeeded
    test_command: str | None = None
    test_cited: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        repo = self.task.repo
        self.setup = list(catalog.SETUP[repo.stack])
        self.tests = [c.format(test_file=repo.test_file(self.task.module)) for c in catalog.TESTS[repo.stack]]
        self.test_actions = {catalog.action(c) for c in self.tests}
        # The repository's own lessons first: where an anywhere lesson contradicts one, the specific one wins.
        self.lessons = sorted(self.lessons, key=lambda lesson: lesson.scope is None)

    # --- dice and lessons --------------------------------------------------------------------------------

    def draw(self, *key: object) -> float:
        return stream(self.task.task_id, "crew", *key).random()

    def heeds(self, lesson: Lesson, *key: object) -> bool:
        """Follow an applicable lesson, unless this training flight explores around it."""
        if self.exploration and self.draw("explore", lesson.entry_id, *key) < self.exploration:
            self.explored += 1
            return False
        return True

    def choose(self, options: list[Option], *key: object) -> tuple[str, list[str]]:
        """Pick one option: hazards removed, substitutes preferred, else the prior's weights. A lesson that
        forbids what an earlier (more specific) lesson prefers is passed over."""
        named = set().union(*(names for _, names, _ in options))
        allowed, cited, preferred = list(options), [], set()
        for lesson in self.lessons:
            if (lesson.other if lesson.kind == "substitution" else lesson.action) in preferred:
                continue
            if lesson.kind == "hazard" and lesson.action in named and self.heeds(lesson, *key):
                kept = [o for o in allowed if lesson.action not in o[1]]
                if kept and len(kept) < len(allowed):
                    allowed, cited = kept, [*cited, lesson.entry_id]
            elif (
                lesson.kind == "substitution"
                and lesson.action in named
                and lesson.other in named
                and self.heeds(lesson, *key)
            ):
                kept = [o for o in allowed if lesson.other not in o[1] or lesson.action in o[1]]
                if any(lesson.action in o[1] for o in kept):
                    allowed, cited = kept, [*cited, lesson.entry_id]
                    preferred.add(lesson.action)
        if preferred and any(preferred & o[1] for o in allowed):
            allowed = [o for o in allowed if preferred & o[1]]
        total, point = sum(w for _, _, w in allowed), self.draw("choose", *key)
        for command, _, weight in allowed:
            point -= weight / total
            if point < 0:
                return command, cited
        return allowed[-1][0], cited

    def avoided(self, action: str, *key: object) -> Lesson | None:
        for lesson in self.lessons:
            if lesson.kind == "hazard" and lesson.action == action and self.heeds(lesson, *key):
                return lesson
        return None

    def recovery_for(self, output: str, *key: object) -> Lesson | None:
        for lesson in self.lessons:
            if lesson.kind == "recovery" and lesson.answers(output) and self.heeds(lesson, *key):
                return lesson
        return None

    def command_for(self, action: str) -> str | None:
        """The catalog command whose action (or first part) a lesson names."""
        repo = self.task.repo
        known = [
            *self.setup,
            *self.tests,
            *catalog.FORMATTERS[repo.stack],
            catalog.PRE_COMMIT,
            catalog.PUSH,
            catalog.COMMIT.format(message=self.commit_message()),
        ]
        for command in known:
            if catalog.action(command) == action:
                return command
        return next((c for c in known if catalog.first_part(catalog.action(c)) == action), None)

    def commit_message(self) -> str:
        return f"{self.task.kind}: {self.task.module} {self.task.test_name.split('_', 2)[-1]}"

    # --- acting ------------------------------------------------------------------------------------------

    def run(self, ctx: TurnContext, command: str, cited: list[str], *key: object) -> tuple[bool, str]:
        """Run `command` after the prerequisites lessons name for it; returns (ok, output)."""
        self.prerequisites(ctx, catalog.action(command), key, depth=0)
        output, _ = ctx.call_tool("run_command", {"command": command, "followed": cited})
        ok = not ctx.state["workspace"].history[-1].failed
        if ok:
            self.done.add(command)
        return ok, str(output)

    def prerequisites(self, ctx: TurnContext, action: str, key: tuple, depth: int) -> None:
        if depth > 3:
            return
        for lesson in self.lessons:
            if lesson.kind != "precondition" or lesson.action != action or not lesson.other:
                continue
            command = self.command_for(lesson.other)
            if command is None or command in self.done or not self.heeds(lesson, *key):
                continue
            self.prerequisites(ctx, lesson.other, key, depth + 1)
            ok, _ = self.run_as_is(ctx, command, [lesson.entry_id])
            if ok:
                self.done.add(command)

    def run_as_is(self, ctx: TurnContext, command: str, cited: list[str]) -> tuple[bool, str]:
        """Run `command` without looking for its prerequisites (a remedy, a retry, a lesson's own step)."""
        output, _ = ctx.call_tool("run_command", {"command": command, "followed": cited})
        return not ctx.state["workspace"].history[-1].failed, str(output)

    def cite_without_call(self, ctx: TurnContext, lesson: Lesson, what: str) -> None:
        """A lesson followed by not doing something: cited in the session's closing words."""
        ctx.state["followed"].add(lesson.entry_id)
        ctx.state["notes"].append(f"Following the playbook: [{lesson.entry_id}] ({what}).")

    def stopped(self, ctx: TurnContext) -> bool:
        return bool(ctx.state["workspace"].refused)


class OfflinePlanner:
    def __init__(self, policy: OfflinePolicy) -> None:
        self.policy = policy

    def respond(self, message: Message, ctx: TurnContext) -> str | None:
        p = self.policy
        ran = []
        for command in sorted(p.setup, key=lambda c: p.draw("order", c)):
            act = catalog.action(command)
            wanted = p.draw("setup", command) < SETUP_PRIOR
            needed = [
                lesson
                for lesson in p.lessons
                if lesson.kind == "precondition"
                and lesson.other == act
                and lesson.action in p.test_actions
                and p.heeds(lesson, "setup", command)
            ]
            if (wanted or needed) and command not in p.done:
                if (hazard := p.avoided(act, "setup", command)) and not needed:
                    p.cite_without_call(ctx, hazard, f"skipped {command}")
                    continue
                p.run(ctx, command, [lesson.entry_id for lesson in needed], "setup", command)
                ran.append(command)
        return "Environment prepared: " + (", ".join(ran) or "nothing to do")


class OfflineCoder:
    def __init__(self, policy: OfflinePolicy) -> None:
        self.policy = policy
        self.attempt = 0

    def respond(self, message: Message, ctx: TurnContext) -> str | None:
        p, repo = self.policy, self.policy.task.repo
        if p.stopped(ctx):
            return None
        self.attempt += 1
        source = repo.source_file(p.task.module)
        if p.draw("read", self.attempt) < READ_PRIOR:
            ctx.call_tool("read_file", {"path": source})
        options = [(tool, catalog.edit_actions(tool, repo.source_ext), w) for tool, w in EDIT_PRIOR]
        tool, cited = p.choose(options, "edit", self.attempt)
        if tool == "sed":
            p.run(ctx, f"sed -i 's/return total/return round(total, 2)/' {source}", cited, "edit")
        elif tool == "Write":
            ctx.call_tool(
                "write_file", {"path": source, "content": "def result(items): ...", "followed": cited}
            )
        else:
            ctx.call_tool(
                "edit_file",
                {
                    "path": source,
                    "old_string": "return total",
                    "new_string": "return round(total, 2)",
                    "followed": cited,
                },
            )
        if self.attempt == 1 and p.draw("format") < FORMAT_PRIOR:
            formatters = [(c, frozenset({catalog.action(c)}), 1.0) for c in catalog.FORMATTERS[repo.stack]]
            command, cited = p.choose(formatters, "format")
            p.run(ctx, command, cited, "format")
        return f"Change made to {source} ({tool})."


class OfflineTester:
    def __init__(self, policy: OfflinePolicy) -> None:
        self.policy = policy
        self.turn = 0

    def respond(self, message: Message, ctx: TurnContext) -> str | None:
        p = self.policy
        self.turn += 1
        if p.test_command is None:
            options = [(c, frozenset({catalog.action(c)}), 1.0) for c in p.tests]
            p.test_command, p.test_cited = p.choose(options, "test")
        output = ""
        for run in range(MAX_TEST_RUNS_PER_TURN):
            if p.stopped(ctx):
                return None
            key = ("test", self.turn, run)
            ok, output = p.run(ctx, p.test_command, p.test_cited, *key)
            if ok:
                return "Tests pass."
            lesson = p.recovery_for(output, *key)
            if lesson is not None:
                if lesson.action not in p.test_actions:  # a test action means: run the tests again
                    command = p.command_for(lesson.action)
                    if command is not None:
                        p.run_as_is(ctx, command, [lesson.entry_id])
                else:
                    p.test_cited = sorted({*p.test_cited, lesson.entry_id})
                continue
            if p.task.test_name in output:
                return "Tests fail: " + p.task.test_name  # the change itself is wrong: the lead sends it back
            self.remedy(ctx, key)
        return "Tests still fail."

    def remedy(self, ctx: TurnContext, key: tuple) -> None:
        """The prior's answer to a failure no lesson covers."""
        p = self.policy
        point, choice = p.draw("remedy", *key), "rerun"
        for name, weight in REMEDY_PRIOR:
            point -= weight
            if point < 0:
                choice = name
                break
        if choice == "setup":
            pending = [c for c in p.setup if c not in p.done]
            if pending:
                p.run_as_is(ctx, pending[int(p.draw("remedy-setup", *key) * len(pending))], [])
        elif choice == "switch":
            others = [c for c in p.tests if c != p.test_command]
            p.test_command = others[int(p.draw("remedy-switch", *key) * len(others))]
            p.test_cited = []
        elif choice == "edit_test":
            ctx.call_tool(
                "edit_file",
                {
                    "path": p.task.repo.test_file(p.task.module),
                    "old_string": "timeout=0.5",
                    "new_string": "timeout=2",
                },
            )


class OfflineLead:
    def __init__(self, policy: OfflinePolicy) -> None:
        self.policy = policy

    def respond(self, message: Message, ctx: TurnContext) -> str | None:
        kind = message.data.get("kind")
        if kind == "task":
            ctx.send(PLANNER, "Prepare the environment for the tests.")
            ctx.send(CODER, f"Make the change: {message.content}")
            ctx.send(TESTER, "Run the tests and report.")
        elif kind == "review" and message.data.get("round", 0) < MAX_REVIEW_ROUNDS:
            if self.policy.task.test_name in message.data.get("report", ""):
                ctx.send(CODER, "The change is not right yet: the task's test still fails. Try again.")
            ctx.send(TESTER, "Run the tests again.")
        elif kind == "wrap_up":
            return self.wrap_up(ctx, bool(message.data.get("commit_asked")))
        return None

    def wrap_up(self, ctx: TurnContext, commit_asked: bool) -> str:
        p = self.policy
        if not commit_asked or p.stopped(ctx):
            return "Done: tests run."
        if p.draw("pre-commit") < PRE_COMMIT_PRIOR:
            p.run_as_is(ctx, catalog.PRE_COMMIT, [])
        command = catalog.COMMIT.format(message=p.commit_message())
        ok, output = p.run(ctx, command, [], "commit")
        if not ok:
            lesson = p.recovery_for(output, "commit")
            if lesson is not None and (fix := p.command_for(lesson.action)) is not None:
                ok, _ = p.run_as_is(ctx, fix, [lesson.entry_id])
                if ok and fix != command:
                    ok, _ = p.run_as_is(ctx, command, [])
            elif p.draw("commit-retry") < COMMIT_RETRY_PRIOR:
                ok, _ = p.run_as_is(ctx, command, [])
        if ok and p.draw("push") < PUSH_PRIOR:
            if (lesson := p.avoided(catalog.action(catalog.PUSH), "push")) is None:
                p.run_as_is(ctx, catalog.PUSH, [])
            else:
                p.cite_without_call(ctx, lesson, "did not push")
        return "Done: committed." if ok else "Done, but the commit failed."


def offline_agents(
    task: Task, lessons: list[Lesson], exploration: float
) -> tuple[dict[str, Any], OfflinePolicy]:
    policy = OfflinePolicy(task, lessons, exploration)
    agents = {
        LEAD: OfflineLead(policy),
        PLANNER: OfflinePlanner(policy),
        CODER: OfflineCoder(policy),
        TESTER: OfflineTester(policy),
    }
    return agents, policy
