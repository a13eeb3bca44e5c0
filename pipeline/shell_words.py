"""Splitting a shell command line into simple commands and their words, without ever raising.

`shlex` splits words well but loses what a reader of agent logs needs: where one command ends and the next
begins (`&&`, `||`, `;`, `|`, newlines), which words are redirections (`2>&1`, `> out.txt`), and where a
here-document's body ends. Agents write all of these (`cd app && npm test 2>&1 | tail -20`,
`git commit -m "$(cat <<'EOF' ... EOF)"`), and session text is untrusted, so this scanner accepts anything:
an unbalanced quote simply runs to the end of the text.

`split_commands("cd app && npm test 2>&1 | tail")` gives
`[SimpleCommand(["cd", "app"], None), SimpleCommand(["npm", "test"], "&&"), SimpleCommand(["tail"], "|")]`:
each command carries the operator that joined it to the previous one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

OPERATORS = ("&&", "||", "|&", ";;", "|", ";", "&")
_REDIRECTION = re.compile(r"(\d*|&)(>>|>\||>&|<&|<<<|<<-|<<|<>|>|<)")
_HEREDOC_WORD = re.compile(r"""\s*(['"]?)([^\s'"<>;&|()]+)\1""")


@dataclass(frozen=True)
class Word:
    """One word with its quotes removed; `expanded` when it holds `$...` or backticks (its value is unknown)."""

    text: str
    expanded: bool = False
    quoted: bool = False


@dataclass
class SimpleCommand:
    """The words of one simple command, and the operator (`&&`, `|`, ...) that joined it to the one before."""

    words: list[Word] = field(default_factory=list)
    joined_by: str | None = None


def _skip_substitution(text: str, i: int) -> int:
    """`text[i:]` follows `$(`: the index just past the matching `)`, honouring nested quotes."""
    depth = 1
    while i < len(text):
        char = text[i]
        if char == "\\":
            i += 2
            continue
        if char in "'\"`":
            i = _skip_quoted(text, i + 1, char)
            continue
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return i


def _skip_quoted(text: str, i: int, quote: str) -> int:
    """`text[i:]` follows an opening quote: the index just past the closing one (or the end of the text)."""
    while i < len(text):
        char = text[i]
        if char == "\\" and quote != "'":
            i += 2
            continue
        if char == quote:
            return i + 1
        if quote == '"' and text.startswith("$(", i):
            i = _skip_substitution(text, i + 2)
            continue
        i += 1
    return i


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0
        self.commands: list[SimpleCommand] = [SimpleCommand()]
        self.heredocs: list[tuple[str, bool]] = []  # (delimiter, strip tabs) waiting for the next newline

    def scan(self) -> list[SimpleCommand]:
        text = self.text
        while self.i < len(text):
            char = text[self.i]
            if char == "\n":
                self.i += 1
                self._skip_heredoc_bodies()
                self._separate(";")
            elif char in " \t\r":
                self.i += 1
            elif char == "#" and self._at_word_start():
                end = text.find("\n", self.i)
                self.i = len(text) if end < 0 else end
            elif (match := _REDIRECTION.match(text, self.i)) and self._redirection(match) or self._operator():
                continue
            elif char in "()":  # subshells and groups: their commands count like any others
                self.i += 1
                self._separate(";")
            else:
                self._word()
        return [c for c in self.commands if c.words]

    def _at_word_start(self) -> bool:
        return self.i == 0 or self.text[self.i - 1] in " \t\n;&|()"

    def _separate(self, operator: str) -> None:
        if self.commands[-1].words:
            self.commands.append(SimpleCommand(joined_by=operator))
        elif len(self.commands) > 1 and operator != ";":
            self.commands[-1].joined_by = operator

    def _operator(self) -> bool:
        for operator in OPERATORS:
            if self.text.startswith(operator, self.i):
                self.i += len(operator)
                self._separate({";;": ";", "|&": "|"}.get(operator, operator))
                return True
        return False

    def _redirection(self, match: re.Match[str]) -> bool:
        """Consume a redirection and its target; a here-document also queues its body to be skipped."""
        operator = match.group(2)
        if match.group(1) == "&" and operator not in (">", ">>"):
            return False
        self.i = match.end()
        if operator in (">&", "<&"):
            target = re.match(r"\s*(\d+|-)", self.text[self.i :])
            if target:
                self.i += target.end()
                return True
        if operator in ("<<", "<<-"):
            heredoc = _HEREDOC_WORD.match(self.text, self.i)
            if heredoc:
                self.heredocs.append((heredoc.group(2), operator == "<<-"))
                self.i = heredoc.end()
                return True
        while self.i < len(self.text) and self.text[self.i] in " \t":
            self.i += 1
        self._read_word()  # the target file: never part of the action
        return True

    def _skip_heredoc_bodies(self) -> None:
        while self.heredocs:
            delimiter, strip_tabs = self.heredocs.pop(0)
            while self.i < len(self.text):
                end = self.text.find("\n", self.i)
                line = self.text[self.i : len(self.text) if end < 0 else end]
                self.i = len(self.text) if end < 0 else end + 1
                if (line.lstrip("\t") if strip_tabs else line) == delimiter:
                    break

    def _word(self) -> None:
        word = self._read_word()
        if word is not None:
            self.commands[-1].words.append(word)

    def _read_word(self) -> Word | None:
        text, start = self.text, self.i
        parts: list[str] = []
        expanded = quoted = False
        while self.i < len(text):
            char = text[self.i]
            if char in " \t\r\n;&|()<>":
                break
            if char == "\\":
                parts.append(text[self.i + 1 : self.i + 2])
                self.i += 2
            elif char == "'":
                end = _skip_quoted(text, self.i + 1, "'")
                parts.append(text[self.i + 1 : max(self.i + 1, end - 1)])
                quoted, self.i = True, end
            elif char == '"':
                end = _skip_quoted(text, self.i + 1, '"')
                inner = text[self.i + 1 : max(self.i + 1, end - 1)]
                expanded = expanded or "$" in inner or "`" in inner
                parts.append(inner)
                quoted, self.i = True, end
            elif char == "`":
                end = _skip_quoted(text, self.i + 1, "`")
                parts.append(text[self.i : end])
                expanded, self.i = True, end
            elif text.startswith("$(", self.i):
                end = _skip_substitution(text, self.i + 2)
                parts.append(text[self.i : end])
                expanded, self.i = True, end
            else:
                expanded = expanded or char == "$"
                parts.append(char)
                self.i += 1
        if self.i == start:
            self.i += 1  # a stray character no rule consumed: skip it rather than loop
            return None
        return Word("".join(parts), expanded=expanded, quoted=quoted)


def split_commands(command: str) -> list[SimpleCommand]:
    """The simple commands of a shell command line, in order, each with the operator joining it."""
    return _Scanner(command).scan()
