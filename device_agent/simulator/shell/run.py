"""Execute parsed command lines against a phone, collecting stdout/stderr in order."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..vfs import FsError
from .parse import Command, Pipeline, ShellSyntaxError, Var, Word, parse

if TYPE_CHECKING:
    from ..phone import PhoneCore

SH = "/system/bin/sh"


@dataclass
class Output:
    """Output chunks in the order they were written: (fd, bytes) with fd 1 or 2."""

    chunks: list[tuple[int, bytes]] = field(default_factory=list)

    def write(self, fd: int, data: str | bytes) -> None:
        if data:
            self.chunks.append((fd, data.encode() if isinstance(data, str) else data))

    def out(self, data: str | bytes) -> None:
        self.write(1, data)

    def err(self, data: str | bytes) -> None:
        self.write(2, data)

    def data(self, fd: int | None = None) -> bytes:
        return b"".join(chunk for f, chunk in self.chunks if fd is None or f == fd)


@dataclass
class Invocation:
    """What a command sees: its arguments, stdin, environment and the phone."""

    phone: PhoneCore
    session: Session
    name: str
    args: list[str]
    stdin: bytes
    env: dict[str, str]
    out: Output


CommandFn = Callable[[Invocation], int]
COMMANDS: dict[str, CommandFn] = {}


def command(*names: str) -> Callable[[CommandFn], CommandFn]:
    """Register a shell command under one or more names."""

    def register(fn: CommandFn) -> CommandFn:
        for name in names:
            COMMANDS[name] = fn
        return fn

    return register


class ExitShell(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


@dataclass
class Session:
    """One shell process: its variables, `$?`, and a foreground service it may start."""

    phone: PhoneCore
    variables: dict[str, str] = field(default_factory=dict)
    status: int = 0
    hold: str | None = None  # set by app_process: the stream stays open while the service runs
    exited: bool = False

    def expand(self, word: Word) -> str:
        out = []
        for part in word:
            if isinstance(part, Var):
                if part.name == "?":
                    out.append(str(self.status))
                elif part.name == "$":
                    out.append("12345")
                else:
                    out.append(self.variables.get(part.name, self.phone.environment().get(part.name, "")))
            else:
                out.append(part)
        return "".join(out)

    def run(self, line: str) -> tuple[Output, int]:
        """Run a whole command line; returns the output and the exit status."""
        output = Output()
        try:
            pipelines = parse(line)
        except ShellSyntaxError as exc:
            output.err(f"{SH}: {exc}\n")
            self.status = 1
            return output, 1
        try:
            for pipeline in pipelines:
                if pipeline.connector == "&&" and self.status != 0:
                    continue
                if pipeline.connector == "||" and self.status == 0:
                    continue
                self.status = self._pipeline(pipeline, output)
        except ExitShell as stop:
            self.status = stop.status
            self.exited = True
        return output, self.status

    def _pipeline(self, pipeline: Pipeline, output: Output) -> int:
        stdin = b""
        status = 0
        for index, cmd in enumerate(pipeline.commands):
            last = index == len(pipeline.commands) - 1
            sink = output if last else Output()
            status = self._command(cmd, stdin, sink)
            if not last:
                stdin = sink.data(1)
                output.chunks.extend(c for c in sink.chunks if c[0] == 2)
        return status

    def _command(self, cmd: Command, stdin: bytes, output: Output) -> int:
        words = [self.expand(w) for w in cmd.words]
        env: dict[str, str] = {}
        while words and "=" in words[0] and words[0].split("=", 1)[0].isidentifier():
            key, value = words.pop(0).split("=", 1)
            env[key] = value
        if not words:
            self.variables.update(env)
            return 0
        local = Output()
        stdin, error = self._read_stdin(cmd, stdin)
        if error:
            output.err(error)
            return 1
        name = words[0]
        fn = COMMANDS.get(name.rsplit("/", 1)[-1] if name.startswith("/system/bin/") else name)
        if fn is None:
            local.err(f"{SH}: {name}: inaccessible or not found\n")
            status = 127
        else:
            try:
                status = fn(Invocation(self.phone, self, words[0].rsplit('/', 1)[-1], words[1:], stdin, {**self.variables, **env}, local))
            except FsError as exc:
                local.err(f"{name}: {exc.path}: {exc.strerror}\n")
                status = 1
        return self._apply_redirects(cmd, local, output, status)

    def _read_stdin(self, cmd: Command, stdin: bytes) -> tuple[bytes, str | None]:
        for redirect in cmd.redirects:
            if redirect.op == "<":
                path = self.expand(redirect.target)
                if path == "/dev/null":
                    stdin = b""
                    continue
                try:
                    stdin = self.phone.fs.read_bytes(path)
                except FsError as exc:
                    return stdin, f"{SH}: can't open {path}: {exc.strerror}\n"
        return stdin, None

    def _apply_redirects(self, cmd: Command, local: Output, output: Output, status: int) -> int:
        targets: dict[int, str | int] = {1: 1, 2: 2}
        for redirect in cmd.redirects:
            if redirect.op == ">&":
                targets[redirect.fd] = targets[int(self.expand(redirect.target))]
            elif redirect.op in (">", ">>"):
                targets[redirect.fd] = ("a:" if redirect.op == ">>" else "w:") + self.expand(redirect.target)
        files: dict[str, bytearray] = {}
        for fd, chunk in local.chunks:
            target = targets[fd]
            if isinstance(target, int):
                output.write(target, chunk)
            elif not target.endswith(":/dev/null"):
                files.setdefault(target, bytearray()).extend(chunk)
        for target in {t for t in targets.values() if isinstance(t, str) and not t.endswith(":/dev/null")}:
            mode, path = target.split(":", 1)
            try:
                old = self.phone.fs.read_bytes(path) if mode == "a" and self.phone.fs.host_path(path).exists() else b""
                self.phone.fs.write_bytes(path, old + bytes(files.get(target, b"")))
            except FsError as exc:
                output.err(f"{SH}: can't create {path}: {exc.strerror}\n")
                return 1
        return status
