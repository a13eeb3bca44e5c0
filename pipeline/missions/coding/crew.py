"""The coding crew on the generic team runner: a lead and three specialists sharing one checkout.

The lead reads the task and the exported instructions for the repository, asks the planner to prepare the
environment, the coder to make the change and the tester to run the tests, sends work back while the tests
are red, and wraps up (commit when asked). Every role acts only through the tools a coding agent has: a
shell (`run_command`), `read_file`, `edit_file` and `write_file`; each call may cite the playbook entries
that made the role choose it (`followed`), which is how a session records what it followed.

Backends differ only in how a role thinks. The offline policy chooses among the catalog's commands from a
broad prior, except where a lesson it read applies: a prerequisite is run first, a substitute replaces the
command it names, a hazard is never chosen, a recovery is tried after its error. In training flights a
role ignores an applicable lesson with probability `exploration` (and says so), so the dreamer keeps seeing
both sides of every lesson.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pipeline.agents.team import Role, Tool, TurnContext
from pipeline.missions.coding.transcripts import ToolCall
from pipeline.missions.coding.workspace import Workspace

LEAD, PLANNER, CODER, TESTER = "lead", "planner", "coder", "tester"
USER, WORKSPACE = "user", "workspace"
SPECIALISTS = (PLANNER, CODER, TESTER)
MAX_TEST_RUNS_PER_TURN = 2
BRIEFS = {
    LEAD: "You lead a coding crew in one repository. Read the task and the repository's instructions, ask the "
    "planner to prepare the environment, the coder to make the change and the tester to run the tests "
    "(send_message), send work back while tests are red, and when they pass commit if the task asks for it.",
    PLANNER: "You prepare the environment before tests run: installs, environment files, services, "
    "migrations, generated code. Use run_command.",
    CODER: "You make the requested change to the source file (read_file, edit_file, write_file or a shell "
    "command) and may run a formatter.",
    TESTER: "You run the tests (run_command) and report whether they pass, retrying what a failure calls for.",
}
_FOLLOWED = {"type": "array", "items": {"type": "string"}, "description": "playbook entry ids you followed"}


# --- tools -----------------------------------------------------------------------------------------------


def _record(ctx: TurnContext, call: ToolCall, followed: Sequence[str]) -> None:
    cited = [str(i) for i in followed]
    ctx.state["followed"].update(cited)
    note = "Following the playbook: " + " ".join(f"[{i}]" for i in cited) + "." if cited else None
    ctx.state["calls"].append(ToolCall(**{**call.__dict__, "note": note}))


def _run_command(arguments: dict[str, Any], ctx: TurnContext) -> str:
    workspace: Workspace = ctx.state["workspace"]
    result = workspace.run(arguments["command"])
    exit_code = result.exit_code or (1 if result.refused else 0)
    call = ToolCall("shell", result.output, exit_code, command=arguments["command"], rejected=result.refused)
    _record(ctx, call, arguments.get("followed", []))
    if result.refused:
        return result.output
    return f"Exit code {exit_code}\n{result.output}" if exit_code else result.output


def _read_file(arguments: dict[str, Any], ctx: TurnContext) -> str:
    result = ctx.state["workspace"].read(arguments["path"])
    _record(ctx, ToolCall("read", result.output, path=arguments["path"]), arguments.get("followed", []))
    return result.output


def _edit(arguments: dict[str, Any], ctx: TurnContext, tool: str) -> str:
    result = ctx.state["workspace"].edit(arguments["path"], tool=tool)
    kind = "write" if tool == "Write" else "edit"
    old, new = arguments.get("old_string", ""), arguments.get("new_string", arguments.get("content", ""))
    _record(
        ctx,
        ToolCall(kind, result.output, path=arguments["path"], old=old, new=new),
        arguments.get("followed", []),
    )
    return result.output


RUN_COMMAND = Tool(
    "run_command",
    "Run a shell command in the repository's root and get its output (prefixed `Exit code N` on failure).",
    {
        "type": "object",
        "properties": {"command": {"type": "string"}, "followed": _FOLLOWED},
        "required": ["command"],
    },
    _run_command,
)
READ_FILE = Tool(
    "read_file",
    "Read a file (path relative to the repository root).",
    {
        "type": "object",
        "properties": {"path": {"type": "string"}, "followed": _FOLLOWED},
        "required": ["path"],
    },
    _read_file,
)
EDIT_FILE = Tool(
    "edit_file",
    "Replace old_string with new_string in a file (the Edit tool).",
    {
        "type": "object",
        "properties": {
            "path": {"type": "string"},
            "old_string": {"type": "string"},
            "new_string": {"type": "string"},
            "followed": _FOLLOWED,
        },
        "required": ["path", "old_string", "new_string"],
    },
    lambda arguments, ctx: _edit(arguments, ctx, "Edit"),
)
WRITE_FILE = Tool(
    "write_file",
    "Write a whole file (the Write tool).",
    {
        "type": "object",
        "properties": {"path": {"type": "string"}, "content": {"type": "string"}, "followed": _FOLLOWED},
        "required": ["path", "content"],
    },
    lambda arguments, ctx: _edit(arguments, ctx, "Write"),
)
CODING_TOOLS: tuple[Tool, ...] = (RUN_COMMAND, READ_FILE, EDIT_FILE, WRITE_FILE)


def build_roles(agents: dict[str, Any]) -> list[Role]:
    return [
        Role(LEAD, agents[LEAD], BRIEFS[LEAD], tools=("run_command", "read_file"), can_message=SPECIALISTS),
        Role(
            PLANNER, agents[PLANNER], BRIEFS[PLANNER], tools=("run_command", "read_file"), can_message=(LEAD,)
        ),
        Role(
            CODER,
            agents[CODER],
            BRIEFS[CODER],
            tools=("read_file", "edit_file", "write_file", "run_command"),
            can_message=(LEAD,),
        ),
        Role(TESTER, agents[TESTER], BRIEFS[TESTER], tools=("run_command", "read_file"), can_message=(LEAD,)),
    ]
