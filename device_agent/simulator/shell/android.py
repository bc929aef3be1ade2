"""Android's own commands: getprop, content, dumpsys, settings, am, monkey, input, screencap, app_process."""

from __future__ import annotations

from .. import dumpsys as dump
from ..provider import ProviderError
from ..vfs import FsError
from .run import Invocation, command

USAGE_CONTENT = "usage: adb shell content [subcommand] [options]\n"


@command("getprop")
def getprop(inv: Invocation) -> int:
    props = inv.phone.props()
    if not inv.args:
        inv.out.out("".join(f"[{k}]: [{v}]\n" for k, v in sorted(props.items())))
    else:
        inv.out.out(props.get(inv.args[0], inv.args[1] if len(inv.args) > 1 else "") + "\n")
    return 0


def _options(args: list[str], known: set[str]) -> tuple[dict[str, str], str | None]:
    options: dict[str, str] = {}
    i = 0
    while i < len(args):
        if args[i] not in known or i + 1 >= len(args):
            return options, args[i]
        options[args[i]] = args[i + 1]
        i += 2
    return options, None


@command("content")
def content(inv: Invocation) -> int:
    if not inv.args or inv.args[0] != "query":
        inv.out.err(f"Error: unsupported operation {inv.args[0] if inv.args else ''}\n" + USAGE_CONTENT)
        return 1
    options, bad = _options(inv.args[1:], {"--uri", "--projection", "--where", "--sort", "--user", "--arg"})
    if bad is not None or "--uri" not in options:
        inv.out.err(f"Error: Unknown argument: {bad}\n" if bad else "Error: Content provider URI not specified\n")
        return 1
    projection = options["--projection"].split(":") if "--projection" in options else None
    uri = options["--uri"]
    authority = uri.split("://", 1)[-1].split("/", 1)[0]
    try:
        inv.out.out(inv.phone.providers.query(uri, projection, options.get("--where"), options.get("--sort"),
                                              fault=inv.phone.faults.provider_errors.get(authority)))
    except ProviderError as exc:
        inv.out.err(exc.render())
    return 0


@command("dumpsys")
def dumpsys(inv: Invocation) -> int:
    state = inv.phone.state
    service = inv.args[0] if inv.args else ""
    if service == "location":
        inv.out.out(dump.location(state))
    elif service == "battery":
        inv.out.out(dump.battery(state))
    elif service == "package" and len(inv.args) > 1:
        inv.out.out(dump.package(state, inv.args[1]))
    elif service == "deviceidle":
        inv.out.out(dump.deviceidle_whitelist(state) if inv.args[1:2] == ["whitelist"] else
                    "  mLightEnabled=true  mDeepEnabled=true\n  mState=ACTIVE mLightState=ACTIVE\n")
    elif service == "window" and inv.args[1:2] == ["windows"]:
        pkg = inv.phone.ui.current_package()
        inv.out.out(f"  mCurrentFocus=Window{{1a2b3c u0 {pkg}/{pkg}.MainActivity}}\n")
    else:
        inv.out.err(f"Can't find service: {service}\n")
    return 0


@command("settings")
def settings(inv: Invocation) -> int:
    args = inv.args
    if len(args) < 2 or args[0] not in ("get", "put", "delete", "list"):
        inv.out.err("usage:  settings [--user <USER_ID> | current] get namespace key\n")
        return 255 if args else 1
    verb, namespace = args[0], args[1]
    table = inv.phone.state.settings.get(namespace)  # type: ignore[call-overload]
    if table is None:
        inv.out.err(f"Invalid namespace '{namespace}'\n")
        return 255
    if verb == "list":
        inv.out.out("".join(f"{k}={v}\n" for k, v in sorted(table.items())))
    elif len(args) < 3:
        inv.out.err("Invalid arguments\n")
        return 255
    elif verb == "get":
        inv.out.out(table.get(args[2], "null") + "\n")
    elif verb == "put":
        if len(args) < 4:
            inv.out.err("Invalid arguments\n")
            return 255
        with inv.phone.lock:
            table[args[2]] = args[3]
    else:
        with inv.phone.lock:
            existed = table.pop(args[2], None) is not None
        inv.out.out(f"Deleted {int(existed)} rows\n")
    return 0


def _intent(args: list[str]) -> tuple[dict[str, str], list[str]]:
    """am-style intent options -> ({"action", "data", "component", ...}, leftover)."""
    intent: dict[str, str] = {}
    rest: list[str] = []
    i = 0
    single = {"-W", "-S", "-R", "--activity-clear-task", "--activity-new-task"}
    with_value = {"-a": "action", "-d": "data", "-n": "component", "-c": "category", "-t": "type", "-f": "flags",
                  "--user": "user", "-p": "package"}
    while i < len(args):
        arg = args[i]
        if arg in single:
            i += 1
        elif arg in with_value and i + 1 < len(args):
            intent[with_value[arg]] = args[i + 1]
            i += 2
        elif arg in ("-e", "--es", "--ez", "--ei", "--el") and i + 2 < len(args):
            intent["extra:" + args[i + 1]] = args[i + 2]
            i += 3
        else:
            rest.append(arg)
            i += 1
    return intent, rest


def _describe(intent: dict[str, str]) -> str:
    fields = [f"act={intent['action']}" if "action" in intent else "", f"cat=[{intent['category']}]"
              if "category" in intent else "", f"dat={intent['data']}" if "data" in intent else "",
              f"cmp={intent['component']}" if "component" in intent else ""]
    return "Intent { " + " ".join(f for f in fields if f) + " }"


@command("am")
def am(inv: Invocation) -> int:
    if not inv.args:
        inv.out.err("usage: am [subcommand] [options]\n")
        return 1
    verb, args = inv.args[0], inv.args[1:]
    if verb == "force-stop" and args:
        with inv.phone.lock:
            inv.phone.ui.force_stop(args[-1])
        return 0
    if verb not in ("start", "start-activity"):
        inv.out.err(f"Error: Unknown command: {verb}\n")
        return 1
    intent, _rest = _intent(args)
    inv.out.out(f"Starting: {_describe(intent)}\n")
    with inv.phone.lock:
        started = inv.phone.ui.open_intent(intent.get("action"), intent.get("data"), intent.get("component"))
    if not started:
        inv.out.err(f"Error: Activity not started, unable to resolve {_describe(intent)[:-2]} flg=0x10000000 }}\n")
        return 1
    return 0


@command("monkey")
def monkey(inv: Invocation) -> int:
    intent, _rest = _intent(inv.args)
    package = intent.get("package")
    for arg in inv.args:
        inv.out.out(f"  bash arg: {arg}\n")
    with inv.phone.lock:
        started = package is not None and inv.phone.ui.launch(package)
    if not started:
        inv.out.out("** No activities found to run, monkey aborted.\n")
        return 252
    inv.out.out("Events injected: 1\n## Network stats: elapsed time=31ms (0ms mobile, 0ms wifi, 31ms not connected)\n")
    return 0


@command("input")
def input_(inv: Invocation) -> int:
    args = inv.args
    ui = inv.phone.ui
    if args[:1] == ["tap"] and len(args) == 3:
        try:
            ui.click(float(args[1]), float(args[2]))
        except ValueError:
            inv.out.err("Error: Invalid arguments for command: tap\n")
            return 1
    elif args[:1] == ["keyevent"] and len(args) == 2:
        key = args[1].upper().removeprefix("KEYCODE_")
        with inv.phone.lock:
            if key in ("BACK", "4"):
                ui.back()
            elif key in ("HOME", "3"):
                ui.home()
    else:
        inv.out.err("Usage: input [<source>] <command> [<arg>...]\n")
        return 1
    return 0


@command("screencap")
def screencap(inv: Invocation) -> int:
    png = inv.phone.ui.screenshot_png()
    paths = [a for a in inv.args if not a.startswith("-")]
    if paths:
        inv.phone.fs.write_bytes(paths[0], png)
    else:
        inv.out.out(png)
    return 0


@command("app_process")
def app_process(inv: Invocation) -> int:
    """Only the uiautomator2 server is known: `CLASSPATH=<u2.jar> app_process / com.wetest.uia2.Main -p PORT`."""
    classpath = inv.env.get("CLASSPATH", "")
    main = next((a for a in inv.args if "." in a and not a.startswith("/")), "")
    try:
        present = bool(classpath) and not inv.phone.fs.stat(classpath).is_dir
    except FsError:
        present = False
    if main != "com.wetest.uia2.Main" or not present:
        inv.out.err(f"Error: Could not find or load main class {main}\n"
                    f"java.lang.ClassNotFoundException: {main}\n")
        return 1
    port = 9008
    if "-p" in inv.args and inv.args.index("-p") + 1 < len(inv.args):
        port = int(inv.args[inv.args.index("-p") + 1]) if inv.args[inv.args.index("-p") + 1].isdigit() else 9008
    inv.out.out("[server] INFO: [UiAutomator2Server] Starting Server\n")
    inv.session.hold = f"uiautomator:{port}"
    return 0
