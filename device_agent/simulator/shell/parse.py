"""Tokenise and parse a shell command line into lists of pipelines.

Words keep `$name` references unexpanded (as Var parts) so that `$?` is read
when its command runs, not when the line is parsed.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class ShellSyntaxError(ValueError):
    """mksh's "syntax error" cases (unterminated quotes, dangling operators)."""


@dataclass(frozen=True, slots=True)
class Var:
    name: str


Part = str | Var
Word = tuple[Part, ...]


@dataclass(slots=True)
class Redirect:
    fd: int
    op: str  # ">", ">>", "<", ">&"
    target: Word


@dataclass(slots=True)
class Command:
    words: list[Word] = field(default_factory=list)
    redirects: list[Redirect] = field(default_factory=list)


@dataclass(slots=True)
class Pipeline:
    commands: list[Command]
    connector: str  # how it joins the previous pipeline: ";", "&&" or "||"


_OPERATORS = ("2>&1", "1>&2", ">&2", "&&", "||", ">>", "2>", ";", "|", ">", "<", "&")
_VAR_START = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_VAR_CHARS = _VAR_START | set("0123456789")


def _read_var(line: str, i: int) -> tuple[Part, int]:
    """Parse a `$...` reference starting at line[i] == "$"; returns (part, next index)."""
    nxt = line[i + 1] if i + 1 < len(line) else ""
    if nxt in ("?", "$", "#", "!") or nxt.isdigit():
        return Var(nxt), i + 2
    if nxt == "{":
        end = line.find("}", i + 2)
        if end < 0:
            raise ShellSyntaxError("${: bad substitution")
        return Var(line[i + 2:end]), end + 1
    if nxt in _VAR_START:
        j = i + 1
        while j < len(line) and line[j] in _VAR_CHARS:
            j += 1
        return Var(line[i + 1:j]), j
    return "$", i + 1


def tokenize(line: str) -> list[Word | str]:
    """Words (tuples of parts) and operator strings."""
    tokens: list[Word | str] = []
    parts: list[Part] = []
    literal: list[str] = []
    in_word = False
    i = 0

    def flush_literal() -> None:
        if literal:
            parts.append("".join(literal))
            literal.clear()

    def dollar(at: int) -> int:
        part, after = _read_var(line, at)
        if isinstance(part, Var):
            flush_literal()
            parts.append(part)
        else:
            literal.append(part)
        return after

    def end_word() -> None:
        nonlocal in_word
        flush_literal()
        if in_word:
            tokens.append(tuple(parts))
        parts.clear()
        in_word = False

    while i < len(line):
        ch = line[i]
        if ch in " \t\n" and not in_word:
            i += 1
            continue
        if ch in " \t\n":
            end_word()
            i += 1
            continue
        if ch == "#" and not in_word:
            break
        op = next((o for o in _OPERATORS if line.startswith(o, i)), None)
        if op is not None and not (op == "2>" and in_word) and not (op in ("2>&1",) and in_word):
            end_word()
            tokens.append(op)
            i += len(op)
            continue
        in_word = True
        if ch == "\\":
            if i + 1 < len(line):
                literal.append(line[i + 1])
            i += 2
        elif ch == "'":
            end = line.find("'", i + 1)
            if end < 0:
                raise ShellSyntaxError("no closing quote")
            literal.append(line[i + 1:end])
            i = end + 1
        elif ch == '"':
            i += 1
            while True:
                if i >= len(line):
                    raise ShellSyntaxError("no closing quote")
                c = line[i]
                if c == '"':
                    i += 1
                    break
                if c == "\\" and i + 1 < len(line) and line[i + 1] in '"\\$`':
                    literal.append(line[i + 1])
                    i += 2
                elif c == "$":
                    i = dollar(i)
                else:
                    literal.append(c)
                    i += 1
        elif ch == "$":
            i = dollar(i)
        else:
            literal.append(ch)
            i += 1
    end_word()
    return tokens


def parse(line: str) -> list[Pipeline]:
    """Parse a command line into pipelines joined by `;`, `&&`, `||` (`&` runs like `;`)."""
    pipelines: list[Pipeline] = []
    commands: list[Command] = [Command()]
    connector = ";"
    tokens = tokenize(line)
    i = 0
    while i < len(tokens):
        token = tokens[i]
        current = commands[-1]
        if isinstance(token, tuple):
            current.words.append(token)
        elif token in (">", ">>", "<", "2>"):
            if i + 1 >= len(tokens) or not isinstance(tokens[i + 1], tuple):
                raise ShellSyntaxError(f"syntax error: unexpected '{token}'")
            fd = 2 if token == "2>" else (0 if token == "<" else 1)
            target = tokens[i + 1]
            assert isinstance(target, tuple)
            current.redirects.append(Redirect(fd, ">>" if token == ">>" else token[-1], target))
            i += 1
        elif token in ("2>&1", "1>&2", ">&2"):
            fd = 2 if token == "2>&1" else 1
            current.redirects.append(Redirect(fd, ">&", ("1" if fd == 2 else "2",)))
        elif token == "|":
            if not current.words:
                raise ShellSyntaxError("syntax error: '|' unexpected")
            commands.append(Command())
        else:
            if not current.words:
                if token in (";", "&") and len(commands) == 1 and pipelines:
                    i += 1
                    continue
                raise ShellSyntaxError(f"syntax error: '{token}' unexpected")
            pipelines.append(Pipeline(commands, connector))
            commands = [Command()]
            connector = ";" if token == "&" else token
        i += 1
    if commands[-1].words:
        pipelines.append(Pipeline(commands, connector))
    elif len(commands) > 1 or connector in ("&&", "||"):
        raise ShellSyntaxError("syntax error: unexpected end of file")
    return pipelines
