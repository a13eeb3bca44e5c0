"""The vocabulary `pipeline.actions` reads commands with: which programs have subcommands, which run other
programs, which prefixes only change how a command runs, and which tools edit files.

Kept apart from the rules so extending it (a new package manager, a new file tool) is a one-line change
that the tests in tests/actions/ then cover.
"""

SHELL_KEYS = ("command", "cmd")
ARGUMENT_WRAPPERS = ("arguments", "args", "parameters")  # keys some formats nest a tool's arguments under
FILE_TOOLS = {
    "Read", "Edit", "Write", "MultiEdit", "NotebookEdit", "NotebookRead",
    "read_file", "write_file", "edit_file", "create_file", "view_file", "delete_file",
}  # fmt: skip
EDITOR_COMMANDS = {"view", "create", "str_replace", "insert", "undo_edit", "delete", "rename"}
WELL_KNOWN_FILES = {
    "package.json", "package-lock.json", "pyproject.toml", "setup.py", "setup.cfg", "requirements.txt",
    "Cargo.toml", "go.mod", "Makefile", "Dockerfile", "CLAUDE.md", "AGENTS.md", "tsconfig.json", ".env",
    ".gitignore", "uv.lock", "poetry.lock", "yarn.lock", "Gemfile", "mix.exs", "justfile", "Justfile",
}  # fmt: skip

# Programs whose first word(s) name what they do: `git commit`, `npm run build`, `gh pr create`.
SUBCOMMAND_DEPTH = {
    "git": 1, "npm": 1, "pnpm": 1, "yarn": 1, "bun": 1, "deno": 1, "cargo": 1, "go": 1, "pip": 1, "uv": 1,
    "poetry": 1, "pdm": 1, "hatch": 1, "conda": 1, "docker": 1, "podman": 1, "kubectl": 1, "helm": 1,
    "gh": 2, "glab": 2, "az": 2, "aws": 2, "gcloud": 2, "mix": 1, "dotnet": 1, "apt": 1, "apt-get": 1,
    "brew": 1, "terraform": 1, "make": 1, "just": 1, "rake": 1, "bundle": 1, "gradle": 1, "gradlew": 1,
    "mvn": 1, "systemctl": 1, "tmux": 1, "nx": 1, "turbo": 1, "rustup": 1, "pre-commit": 1, "tox": 0,
    "npx": 0, "bunx": 0, "vitest": 1, "ruff": 1, "uvx": 0, "pipx": 1, "alembic": 1, "django-admin": 1, "manage.py": 1,
}  # fmt: skip
# Second-level subcommands worth keeping: `npm run <script>`, `git stash pop`, `docker compose up`.
NESTED_SUBCOMMANDS = {
    ("npm", "run"), ("pnpm", "run"), ("yarn", "run"), ("bun", "run"), ("git", "stash"), ("git", "remote"),
    ("git", "worktree"), ("git", "submodule"), ("docker", "compose"), ("cargo", "llvm-cov"), ("uv", "pip"),
    ("go", "mod"), ("mix", "ecto"), ("poetry", "env"),
}  # fmt: skip
# Commands that run another command: the action names both (`uv run pytest`, `npx jest`, `python -m pytest`).
RUNNERS = {("npx",), ("bunx",), ("uvx",), ("pnpm", "exec"), ("pnpm", "dlx"), ("yarn", "dlx"), ("uv", "run"),
           ("poetry", "run"), ("pdm", "run"), ("hatch", "run"), ("pipx", "run"), ("bundle", "exec")}  # fmt: skip
# Prefixes that change how a command runs, not what it does: dropped (with their own options).
WRAPPERS = {"sudo", "env", "time", "nohup", "exec", "command", "builtin", "nice", "stdbuf", "caffeinate"}
WRAPPER_VALUE_FLAGS = {"sudo": {"-u", "-g", "-C", "-D"}, "nice": {"-n"}, "env": {"-u", "-C"}}
# Programs whose first positional argument is a script or pattern, not a file: never shown.
PATTERN_FIRST = {"sed", "awk", "gawk", "grep", "egrep", "fgrep", "rg", "ag", "jq", "yq", "perl", "printf"}
# Global options taking a value before the subcommand (`git -C dir status`).
GLOBAL_VALUE_FLAGS = {
    "git": {"-C", "-c", "--git-dir", "--work-tree"}, "docker": {"-H", "--context"}, "make": {"-C", "-f", "--directory"},
    "npm": {"--prefix", "-w", "--workspace"}, "pnpm": {"-C", "--dir", "--filter", "-F"}, "yarn": {"--cwd"},
    "cargo": {"--manifest-path", "-p", "--package"}, "go": {"-C"}, "uv": {"--directory", "--project"},
    "kubectl": {"-n", "--namespace", "--context"}, "gh": {"-R", "--repo"},
}  # fmt: skip
SHELLS = {"bash", "sh", "zsh", "dash", "ksh", "fish"}
DROPPED_WHEN_NOT_ALONE = {"cd", "pushd", "popd", "export", "set"}
KEYWORD_PREFIXES = {"if", "then", "else", "elif", "do", "while", "until", "!", "{", "}", "time"}
KEYWORD_ALONE = {"fi", "done", "esac", "}", "then", "do", "else"}

# Programs without subcommands: their first plain word is an argument (`ls src`), not a subcommand.
PLAIN_PROGRAMS = {
    "cat", "ls", "echo", "grep", "egrep", "rg", "sed", "awk", "find", "fd", "head", "tail", "wc", "cp", "mv",
    "rm", "mkdir", "rmdir", "touch", "curl", "wget", "jq", "yq", "sort", "uniq", "xargs", "pwd", "sleep",
    "tee", "chmod", "chown", "diff", "nl", "printf", "test", "true", "false", "which", "whoami", "date",
    "env", "ps", "kill", "pkill", "tar", "unzip", "zip", "gzip", "ln", "du", "df", "file", "stat", "cut",
    "tr", "basename", "dirname", "realpath", "readlink", "less", "more", "tree", "open", "source", ".",
    "pytest", "jest", "mocha", "eslint", "prettier", "tsc", "black", "mypy", "flake8",
    "pylint", "isort", "python", "node", "ruby", "perl", "php", "java", "javac", "gcc", "cc", "clang",
    "rustc", "go-test", "cd", "pushd", "popd", "export", "set", "unset", "type", "sh", "bash", "zsh",
    "ssh", "scp", "rsync", "lsof", "netstat", "top", "htop", "watch", "clear", "history", "alias",
    "code", "vim", "nano", "emacs", "patch", "git-lfs", "shellcheck", "hexdump", "xxd", "od",
    "sha256sum", "md5sum", "base64", "openssl", "tox", "nox", "ping", "dig", "nslookup", "psql", "sqlite3",
    "mysql", "redis-cli", "gawk", "fgrep", "ag", "cmp", "comm", "paste", "column", "fold", "rev", "seq",
    "yes", "id", "uname", "hostname", "uptime", "free", "nproc", "read", "wait", "trap", "exit", "return",
    "local", "declare", "eval", "shift", "getopts", "ulimit", "umask", "cargo-llvm-cov", "bat", "exa", "eza",
}  # fmt: skip
