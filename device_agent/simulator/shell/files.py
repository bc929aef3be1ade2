"""File and text commands: ls, stat, md5sum, cat, echo, mkdir, df, date, grep, head, tail, wc, toybox."""

from __future__ import annotations

import errno
import hashlib
import re
import stat as st
import time
from collections.abc import Callable

from ..vfs import Entry, FsError
from .run import COMMANDS, ExitShell, Invocation, command


def _flags(args: list[str], known: str) -> tuple[set[str], list[str], str | None]:
    """Split `-la` style flags from operands; returns (flags, operands, first unknown flag)."""
    flags: set[str] = set()
    operands = []
    for arg in args:
        if arg.startswith("-") and len(arg) > 1 and not operands:
            for ch in arg[1:]:
                if ch not in known:
                    return flags, operands, ch
                flags.add(ch)
        else:
            operands.append(arg)
    return flags, operands, None


def _each_path(inv: Invocation, paths: list[str], action: Callable[[str], None],
               ignore: frozenset[int] = frozenset()) -> int:
    """Run action on each path; report file errors toybox-style (`name: path: reason`) and return 1 if any."""
    status = 0
    for path in paths:
        try:
            action(path)
        except FsError as exc:
            if exc.errno in ignore:
                continue
            inv.out.err(f"{inv.name}: {path}: {exc.strerror}\n")
            status = 1
    return status


def _mode_string(mode: int) -> str:
    kind = "d" if st.S_ISDIR(mode) else "l" if st.S_ISLNK(mode) else "-"
    bits = "".join(ch if mode & (1 << (8 - i)) else "-" for i, ch in enumerate("rwxrwxrwx"))
    return kind + bits


def _ls_rows(inv: Invocation, entries: list[tuple[str, Entry]]) -> list[str]:
    rows = []
    for name, e in entries:
        when = inv.phone.local(e.mtime * 1000).strftime("%Y-%m-%d %H:%M")
        size = e.size if not e.is_dir else (3452 if e.path.startswith("/storage/emulated") else 4096)
        target = f" -> {e.link_target}" if e.link_target else ""
        rows.append([_mode_string(e.mode), str(e.nlink), e.user, e.group, str(size), when, name + target])
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    return [f"{r[0]} {r[1]:>{widths[1]}} {r[2]:<{widths[2]}} {r[3]:<{widths[3]}} {r[4]:>{widths[4]}} {r[5]} {r[6]}"
            for r in rows]


@command("ls")
def ls(inv: Invocation) -> int:
    flags, paths, bad = _flags(inv.args, "laR1dhtrsnZ")
    if bad:
        inv.out.err(f"ls: Unknown option '{bad}'\n")
        return 1
    status = 0
    paths = paths or ["."]
    for index, path in enumerate(paths):
        try:
            entry = inv.phone.fs.stat(path)
        except FsError:
            inv.out.err(f"ls: {path}: No such file or directory\n")
            status = 1
            continue
        if entry.is_dir and "d" not in flags:
            items = [(e.path.rsplit("/", 1)[-1], e) for e in inv.phone.fs.listdir(path)]
            if "a" in flags:
                items = [(".", entry), ("..", entry), *items]
            if len(paths) > 1:
                inv.out.out(("\n" if index else "") + f"{path}:\n")
            if "l" in flags:
                blocks = sum((e.size + 4095) // 4096 * 4 for _, e in items if not e.is_dir)
                inv.out.out(f"total {blocks}\n" + "".join(r + "\n" for r in _ls_rows(inv, items)))
            else:
                inv.out.out("".join(name + "\n" for name, _ in items))
        else:
            inv.out.out((_ls_rows(inv, [(path, entry)])[0] if "l" in flags else path) + "\n")
    return status


def _stat_format(inv: Invocation, fmt: str, path: str, e: Entry) -> str:
    kind = "directory" if e.is_dir else "symbolic link" if e.link_target else (
        "regular file" if e.size else "regular empty file")
    stamp = inv.phone.local(e.mtime * 1000).strftime("%Y-%m-%d %H:%M:%S.000000000 %z")
    values = {"n": path, "s": str(e.size), "Y": str(int(e.mtime)), "X": str(int(e.mtime)), "Z": str(int(e.mtime)),
              "a": f"{e.mode & 0o7777:o}", "A": _mode_string(e.mode), "F": kind, "U": e.user, "G": e.group,
              "u": str(e.uid), "g": str(e.gid), "y": stamp, "x": stamp, "z": stamp, "i": str(e.inode),
              "h": str(e.nlink), "b": str((e.size + 511) // 512), "B": "512", "%": "%"}
    return re.sub(r"%(.)", lambda m: values.get(m.group(1), m.group(0)), fmt)


@command("stat")
def stat_(inv: Invocation) -> int:
    fmt = None
    args = list(inv.args)
    if args[:1] in (["-c"], ["--format"]) and len(args) > 1:
        fmt = args[1]
        args = args[2:]
    if not args:
        inv.out.err("stat: Needs 1 argument\n")
        return 1
    status = 0
    for path in args:
        try:
            e = inv.phone.fs.stat(path)
        except FsError as exc:
            inv.out.err(f"stat: '{path}': {exc.strerror}\n")
            status = 1
            continue
        if fmt is not None:
            inv.out.out(_stat_format(inv, fmt, path, e) + "\n")
        else:
            inv.out.out(_stat_format(inv, (
                "  File: %n\n  Size: %s\t Blocks: %b\t IO Blocks: 4096\t%F\n"
                "Device: fd05h/64773d\t Inode: %i\t Links: %h\n"
                f"Access: (0%a/%A)\tUid: ({e.uid:5d}/{e.user:>8})\tGid: ({e.gid:5d}/{e.group:>8})\n"
                "Access: %x\nModify: %y\nChange: %z"), path, e) + "\n")
    return status


@command("md5sum", "sha1sum", "sha256sum")
def checksum(inv: Invocation) -> int:
    algorithm = {"md5sum": "md5", "sha1sum": "sha1", "sha256sum": "sha256"}[inv.name]

    def one(path: str) -> None:
        digest = hashlib.new(algorithm)
        with inv.phone.fs.open_read(path) as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
        inv.out.out(f"{digest.hexdigest()}  {path}\n")

    return _each_path(inv, inv.args, one)


@command("toybox", "busybox")
def toybox(inv: Invocation) -> int:
    if not inv.args:
        inv.out.out(" ".join(sorted(n for n in _TOYS if n in COMMANDS)) + "\n")
        return 0
    name = inv.args[0]
    if name not in _TOYS:
        inv.out.err(f"toybox: Unknown command {name}\n")
        return 1
    return COMMANDS[name](Invocation(inv.phone, inv.session, name, inv.args[1:], inv.stdin, inv.env, inv.out))


_TOYS = {"rm", "ls", "stat", "md5sum", "sha1sum", "sha256sum", "cat", "echo", "mkdir", "df", "date", "grep", "head",
         "tail", "wc", "true", "false", "id", "uptime", "sleep"}


@command("cat")
def cat(inv: Invocation) -> int:
    if not inv.args:
        inv.out.out(inv.stdin)
        return 0

    def one(path: str) -> None:
        if path == "/proc/uptime":
            up = (inv.phone.now_ms() - inv.phone.state.boot_time_ms) / 1000
            inv.out.out(f"{up:.2f} {up * 3.6:.2f}\n")
        else:
            inv.out.out(inv.phone.fs.read_bytes(path))

    return _each_path(inv, inv.args, one)


@command("echo")
def echo(inv: Invocation) -> int:
    args = inv.args
    newline = True
    if args[:1] == ["-n"]:
        newline, args = False, args[1:]
    inv.out.out(" ".join(args) + ("\n" if newline else ""))
    return 0


@command("true")
def true(inv: Invocation) -> int:
    return 0


@command("false")
def false(inv: Invocation) -> int:
    return 1


@command("exit")
def exit_(inv: Invocation) -> int:
    raise ExitShell(int(inv.args[0]) & 0xFF if inv.args and inv.args[0].lstrip("-").isdigit() else inv.session.status)


@command("sleep")
def sleep(inv: Invocation) -> int:
    try:
        time.sleep(min(float(inv.args[0]), 30.0))
    except (IndexError, ValueError):
        inv.out.err("sleep: Needs 1 argument\n")
        return 1
    return 0


@command("id", "whoami")
def id_(inv: Invocation) -> int:
    if inv.name == "whoami":
        inv.out.out("shell\n")
    else:
        inv.out.out("uid=2000(shell) gid=2000(shell) groups=2000(shell),1004(input),1007(log),1011(adb),"
                    "1015(sdcard_rw),1028(sdcard_r),3001(net_bt_admin),3002(net_bt),3003(inet) "
                    "context=u:r:shell:s0\n")
    return 0


@command("mkdir")
def mkdir(inv: Invocation) -> int:
    flags, paths, _bad = _flags(inv.args, "pm")
    return _each_path(inv, paths, lambda path: inv.phone.fs.mkdir(path, parents="p" in flags))


@command("rm")
def rm(inv: Invocation) -> int:
    flags, paths, bad = _flags(inv.args, "rfRv")
    if bad:
        inv.out.err(f"rm: Unknown option '{bad}'\n")
        return 1
    recursive = bool(flags & {"r", "R"})
    return _each_path(inv, paths, lambda path: inv.phone.fs.remove(path, recursive=recursive),
                      ignore=frozenset({errno.ENOENT}) if "f" in flags else frozenset())


@command("df")
def df(inv: Invocation) -> int:
    total = inv.phone.state.storage_total_bytes // 1024
    free = inv.phone.free_bytes() // 1024
    used = total - free
    inv.out.out("Filesystem      1K-blocks     Used Available Use% Mounted on\n"
                f"/dev/fuse      {total:10d} {used:8d} {free:9d} {used * 100 // max(total, 1):3d}% "
                "/storage/emulated\n")
    return 0


@command("date")
def date(inv: Invocation) -> int:
    now = inv.phone.local(inv.phone.now_ms())
    fmt = next((a[1:] for a in inv.args if a.startswith("+")), None)
    if fmt is None:
        inv.out.out(now.strftime("%a %b %d %H:%M:%S %Z %Y").replace("+08", "CST") + "\n")
    else:
        inv.out.out(now.strftime(fmt.replace("%s", str(int(now.timestamp())))) + "\n")
    return 0


@command("uptime")
def uptime(inv: Invocation) -> int:
    now = inv.phone.local(inv.phone.now_ms())
    up = (inv.phone.now_ms() - inv.phone.state.boot_time_ms) // 60000
    inv.out.out(f" {now:%H:%M:%S} up {up // 1440} days, {up % 1440 // 60:2d}:{up % 60:02d},  0 users,  "
                "load average: 1.02, 0.98, 0.95\n")
    return 0


@command("grep")
def grep(inv: Invocation) -> int:
    flags, operands, bad = _flags(inv.args, "iEFvcqn")
    if bad or not operands:
        inv.out.err("grep: Needs 1 argument\n" if not bad else f"grep: Unknown option '{bad}'\n")
        return 2
    pattern = operands[0]
    text = inv.stdin.decode("utf-8", "replace")
    if len(operands) > 1:
        try:
            text = "".join(inv.phone.fs.read_bytes(p).decode("utf-8", "replace") for p in operands[1:])
        except FsError as exc:
            inv.out.err(f"grep: {exc.path}: {exc.strerror}\n")
            return 2
    regex = re.compile(re.escape(pattern) if "F" in flags else pattern, re.I if "i" in flags else 0)
    lines = [line for line in text.splitlines() if bool(regex.search(line)) != ("v" in flags)]
    if "c" in flags:
        inv.out.out(f"{len(lines)}\n")
    elif "q" not in flags:
        inv.out.out("".join(line + "\n" for line in lines))
    return 0 if lines else 1


def _count_arg(inv: Invocation, default: int) -> tuple[int, list[str]]:
    args = list(inv.args)
    count = default
    if args[:1] == ["-n"] and len(args) > 1 and args[1].isdigit():
        count, args = int(args[1]), args[2:]
    elif args[:1] and re.fullmatch(r"-\d+", args[0]):
        count, args = int(args[0][1:]), args[1:]
    return count, args


@command("head", "tail")
def head_tail(inv: Invocation) -> int:
    count, paths = _count_arg(inv, 10)
    data = inv.phone.fs.read_bytes(paths[0]) if paths else inv.stdin
    lines = data.splitlines(keepends=True)
    picked = lines[:count] if inv.name == "head" else lines[-count:] if count else []
    inv.out.out(b"".join(picked))
    return 0


@command("wc")
def wc(inv: Invocation) -> int:
    data = inv.phone.fs.read_bytes(inv.args[-1]) if inv.args and not inv.args[-1].startswith("-") else inv.stdin
    counts = {"l": data.count(b"\n"), "w": len(data.split()), "c": len(data)}
    flags = [a[1:] for a in inv.args if a.startswith("-")]
    picked = [counts[f] for f in "lwc" if any(f in g for g in flags)] or list(counts.values())
    inv.out.out(" ".join(str(c) for c in picked) + "\n")
    return 0
