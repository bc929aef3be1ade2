"""Package manager and policy commands: pm, cmd, appops, dpm."""

from __future__ import annotations

from .. import dumpsys as dump
from ..apk import ApkError, read_apk
from ..permissions import is_runtime, set_granted
from ..state import Package
from ..vfs import FsError
from .run import COMMANDS, Invocation, command

_PM_FRAMES = ("com.android.server.pm.PackageManagerShellCommand.onCommand(PackageManagerShellCommand.java:241)",
              "com.android.modules.utils.BasicShellCommandHandler.exec(BasicShellCommandHandler.java:97)",
              "android.os.ShellCommand.exec(ShellCommand.java:38)",
              "android.os.Binder.shellCommand(Binder.java:1049)",
              "android.os.Binder.onTransact(Binder.java:877)")


def _exception(inv: Invocation, verb: str, java: str) -> int:
    inv.out.err(f"Exception occurred while executing '{verb}':\n{java}\n" + "".join(f"\tat {f}\n" for f in _PM_FRAMES))
    return 255


def _codepath(name: str) -> str:
    return f"/data/app/~~{name.replace('.', '')[:10]}==/{name}-1/base.apk"


@command("pm")
def pm(inv: Invocation) -> int:
    if not inv.args:
        inv.out.err("usage: pm [subcommand] [options]\n")
        return 1
    verb, args = inv.args[0], inv.args[1:]
    handler = _PM.get(verb)
    if handler is None:
        inv.out.err(f"Unknown command: {verb}\n")
        return 255
    with inv.phone.lock:
        return handler(inv, args)


def _install(inv: Invocation, args: list[str]) -> int:
    flags = [a for a in args if a.startswith("-")]
    paths = [a for a in args if not a.startswith("-")]
    if not paths:
        inv.out.err("Error: no package specified\n")
        return 1
    path = paths[-1]
    try:
        data = inv.phone.fs.read_bytes(path)
    except FsError:
        inv.out.err(f"Error: Unable to open file: {path}\nConsider using a file under /data/local/tmp/\n"
                    f"Error: Can't open file: {path}\n")
        return 1
    try:
        info = read_apk(data)
    except ApkError as exc:
        inv.out.out(f"Failure [INSTALL_PARSE_FAILED_NOT_APK: Failed parse during installPackageLI: {exc}]\n")
        return 1
    state = inv.phone.state
    existing = state.packages.get(info.package)
    if existing is not None and "-r" not in flags and state.identity.sdk < 24:
        inv.out.out("Failure [INSTALL_FAILED_ALREADY_EXISTS]\n")
        return 1
    if existing is not None and existing.version_code > info.version_code and "-d" not in flags:
        inv.out.out("Failure [INSTALL_FAILED_VERSION_DOWNGRADE]\n")
        return 1
    package = Package(label=info.label, version_name=info.version_name, version_code=info.version_code,
                      apk_path=_codepath(info.package), launcher_activity=info.launcher_activity,
                      requested_permissions=list(info.permissions),
                      granted_permissions=list(existing.granted_permissions) if existing else [],
                      appops=dict(existing.appops) if existing else {},
                      config=existing.config if existing else None, first_install_ms=inv.phone.now_ms(),
                      stopped=existing.stopped if existing else True)
    if "-g" in flags:
        grantable = [p for p in info.permissions if is_runtime(p, state.identity.sdk)
                     and p not in state.pm_grant_blocked]
        set_granted(package, grantable, True)
    state.packages[info.package] = package
    inv.out.out("Success\n")
    return 0


def _uninstall(inv: Invocation, args: list[str]) -> int:
    names = [a for a in args if not a.startswith("-")]
    state = inv.phone.state
    if not names or names[0] not in state.packages or state.packages[names[0]].system:
        inv.out.out("Failure [DELETE_FAILED_INTERNAL_ERROR]\n")
        return 1
    del state.packages[names[0]]
    if names[0] in state.deviceidle_whitelist:
        state.deviceidle_whitelist.remove(names[0])
    inv.phone.ui.force_stop(names[0])
    inv.out.out("Success\n")
    return 0


def _grant_revoke(inv: Invocation, args: list[str], grant: bool) -> int:
    verb = "grant" if grant else "revoke"
    if len(args) < 2:
        inv.out.err(f"Error: no {'package' if not args else 'permission'} specified\n")
        return 1
    name, permission = args[-2], args[-1]
    state = inv.phone.state
    pkg = state.packages.get(name)
    if pkg is None:
        return _exception(inv, verb, f"java.lang.IllegalArgumentException: Unknown package: {name}")
    if grant and permission in state.pm_grant_blocked:
        return _exception(inv, verb, "java.lang.SecurityException: grantRuntimePermission: Neither user 2000 nor "
                                     "current process has android.permission.GRANT_RUNTIME_PERMISSIONS.")
    if permission not in pkg.requested_permissions:
        return _exception(inv, verb, f"java.lang.SecurityException: Package {name} has not requested permission "
                                     f"{permission}")
    if not is_runtime(permission, state.identity.sdk):
        return _exception(inv, verb, f"java.lang.SecurityException: Permission {permission} requested by {name} "
                                     "is not a changeable permission type")
    set_granted(pkg, [permission], grant)
    return 0


def _list(inv: Invocation, args: list[str]) -> int:
    if not args or args[0] != "packages":
        inv.out.err("Error: unknown list type\n")
        return 1
    flags = {a for a in args[1:] if a.startswith("-")}
    needle = next((a for a in args[1:] if not a.startswith("-")), "")
    for name, pkg in sorted(inv.phone.state.packages.items()):
        if needle not in name or ("-3" in flags and pkg.system) or ("-s" in flags and not pkg.system):
            continue
        inv.out.out(f"package:{pkg.apk_path}={name}\n" if "-f" in flags else f"package:{name}\n")
    return 0


def _path(inv: Invocation, args: list[str]) -> int:
    pkg = inv.phone.state.packages.get(args[-1]) if args else None
    if pkg is None:
        return 1
    inv.out.out(f"package:{pkg.apk_path}\n")
    return 0


def _dump(inv: Invocation, args: list[str]) -> int:
    inv.out.out(dump.package(inv.phone.state, args[0] if args else ""))
    return 0


_PM = {
    "install": _install, "uninstall": _uninstall, "list": _list, "path": _path, "dump": _dump,
    "grant": lambda inv, args: _grant_revoke(inv, args, True),
    "revoke": lambda inv, args: _grant_revoke(inv, args, False),
}

_APPOP_MODES = ("allow", "ignore", "deny", "default", "foreground")


@command("appops")
def appops(inv: Invocation) -> int:
    args = [a for a in inv.args if a not in ("--user", "0", "current")]
    if (len(args) < 3 and args[:1] != ["get"]) or len(args) < 2:
        inv.out.err("usage: appops set [--user <USER_ID>] <PACKAGE | UID> <OP> <MODE>\n")
        return 255
    verb, name = args[0], args[1]
    with inv.phone.lock:
        pkg = inv.phone.state.packages.get(name)
        if pkg is None:
            inv.out.err(f"Error: java.lang.IllegalArgumentException: Unknown package: {name}\n")
            return 255
        if verb == "set":
            op, mode = args[2], args[3] if len(args) > 3 else ""
            if mode not in _APPOP_MODES:
                inv.out.err(f"Error: Mode {mode} is not valid\n")
                return 255
            pkg.appops[op] = mode
            return 0
        if verb == "get":
            ops = {k: v for k, v in pkg.appops.items() if len(args) < 3 or k == args[2]}
            inv.out.out("".join(f"{k}: {v}\n" for k, v in sorted(ops.items())) or "No operations.\n")
            return 0
    inv.out.err(f"Error: Unknown command: {verb}\n")
    return 255


@command("cmd")
def cmd(inv: Invocation) -> int:
    if not inv.args:
        inv.out.err("cmd: No service specified; use -l to list all running services.\n")
        return 20
    service, args = inv.args[0], inv.args[1:]
    alias = {"package": "pm", "appops": "appops", "settings": "settings", "activity": "am"}
    if service in alias:
        return COMMANDS[alias[service]](Invocation(inv.phone, inv.session, alias[service], args, inv.stdin,
                                                   inv.env, inv.out))
    if service != "deviceidle":
        inv.out.err(f"cmd: Can't find service: {service}\n")
        return 20
    if args[:1] != ["whitelist"]:
        inv.out.err("Unknown command\n")
        return 255
    state = inv.phone.state
    if len(args) == 1:
        inv.out.out(dump.deviceidle_whitelist(state))
        return 0
    with inv.phone.lock:
        for arg in args[1:]:
            name = arg[1:]
            if arg[:1] not in "+-" or name not in state.packages:
                inv.out.out(f"Package not found: {name or arg}\n")
            elif arg[0] == "+":
                if name not in state.deviceidle_whitelist:
                    state.deviceidle_whitelist.append(name)
                inv.out.out(f"Added: {name}\n")
            else:
                if name in state.deviceidle_whitelist:
                    state.deviceidle_whitelist.remove(name)
                    inv.out.out(f"Removed: {name}\n")
                else:
                    inv.out.out(f"Failed: {name} is not in the whitelist\n")
    return 0


@command("dpm")
def dpm(inv: Invocation) -> int:
    if len(inv.args) < 2 or inv.args[0] not in ("set-device-owner", "remove-active-admin"):
        inv.out.err("usage: dpm [subcommand] [options]\n")
        return 1 if not inv.args else 255
    verb, component = inv.args[0], inv.args[-1]
    name = component.split("/", 1)[0]
    full = component if "/" not in component or not component.split("/", 1)[1].startswith(".") else (
        f"{name}/{name}{component.split('/', 1)[1]}")
    state = inv.phone.state
    with inv.phone.lock:
        if name not in state.packages or "/" not in component:
            return _exception(inv, verb, f"java.lang.IllegalArgumentException: Unknown admin: ComponentInfo{{{full}}}")
        if verb == "remove-active-admin":
            if state.device_owner != full:
                return _exception(inv, verb, f"java.lang.SecurityException: Attempt to remove non-test admin "
                                             f"ComponentInfo{{{full}}} 0")
            state.device_owner = None
            inv.out.out(f"Success: Admin removed ComponentInfo{{{full}}}\n")
            return 0
        if state.device_owner:
            return _exception(inv, verb, "java.lang.IllegalStateException: Trying to set the device owner, but "
                                         "device owner is already set.")
        if state.accounts:
            return _exception(inv, verb, "java.lang.IllegalStateException: Not allowed to set the device owner "
                                         "because there are already some accounts on the device")
        state.device_owner = full
    inv.out.out(f"Success: Device owner set to package ComponentInfo{{{full}}}\n"
                f"Active admin set to component {{{full}}}\n")
    return 0

