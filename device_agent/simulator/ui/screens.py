"""Screens as view trees: launcher, app, permission dialog, location page, battery dialog, OwnTracks import."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from ..permissions import BACKGROUND, FINE, is_granted
from ..state import PhoneState
from .nodes import HEIGHT, WIDTH, Node

OWNTRACKS = "org.owntracks.android"


@dataclass(frozen=True)
class Screen:
    kind: str
    package: str = ""
    data: str = ""


def _frame(package: str, children: list[Node]) -> Node:
    status = Node("android.widget.FrameLayout", (0, 0, WIDTH, 80), "com.android.systemui",
                  rid="com.android.systemui:id/status_bar")
    content = Node("android.widget.FrameLayout", (0, 80, WIDTH, HEIGHT), package, rid="android:id/content",
                   children=children)
    return Node("android.widget.FrameLayout", (0, 0, WIDTH, HEIGHT), package, children=[status, content])


def _text(package: str, text: str, top: int, height: int = 120, rid: str = "", left: int = 60,
          right: int = WIDTH - 60) -> Node:
    return Node("android.widget.TextView", (left, top, right, top + height), package, text=text, rid=rid)


def _button(package: str, text: str, top: int, rid: str, action: str, left: int = 60,
            right: int = WIDTH - 60, cls: str = "android.widget.Button") -> Node:
    return Node(cls, (left, top, right, top + 140), package, text=text, rid=rid, clickable=True,
                focusable=True, action=action)


def _label(state: PhoneState, package: str) -> str:
    pkg = state.packages.get(package)
    return pkg.label if pkg else package


def home(state: PhoneState, screen: Screen, edits: dict[str, str]) -> Node:
    launcher = "com.android.launcher3"
    search_id = f"{launcher}:id/search_box_input"
    children = [Node("android.widget.EditText", (60, 200, WIDTH - 60, 330), launcher,
                     text=edits.get(search_id, "Search apps"), rid=search_id, clickable=True, focusable=True)]
    apps = sorted((name, p) for name, p in state.packages.items() if p.launcher_activity)
    for i, (name, pkg) in enumerate(apps):
        col, row = i % 4, i // 4
        left, top = 40 + col * 250, 500 + row * 300
        children.append(Node("android.widget.TextView", (left, top, left + 240, top + 280), launcher, text=pkg.label,
                             desc=pkg.label, clickable=True, focusable=True, action=f"launch:{name}"))
    return _frame(launcher, children)


def app(state: PhoneState, screen: Screen, edits: dict[str, str]) -> Node:
    label = _label(state, screen.package)
    children = [_text(screen.package, label, 120, rid=f"{screen.package}:id/toolbar_title")]
    if screen.package == OWNTRACKS:
        config = (state.packages[OWNTRACKS].config or {}) if OWNTRACKS in state.packages else {}
        status = f"Connected to {config['url']}" if config.get("url") else "Not configured"
        children.append(_text(screen.package, status, 300, rid=f"{OWNTRACKS}:id/connection_status"))
    return _frame(screen.package, children)


def permission_dialog(state: PhoneState, screen: Screen, edits: dict[str, str]) -> Node:
    sdk = state.identity.sdk
    pkg = "com.android.permissioncontroller" if sdk >= 29 else "com.android.packageinstaller"
    message = f"Allow {_label(state, screen.package)} to access this device's location?"
    if sdk >= 30:
        buttons = [("While using the app", "permission_allow_foreground_only_button", "grant_foreground"),
                   ("Only this time", "permission_allow_one_time_button", "grant_foreground"),
                   ("Don't allow", "permission_deny_button", "back")]
    elif sdk == 29:
        buttons = [("Allow all the time", "permission_allow_button", "grant_always"),
                   ("Allow only while using the app", "permission_allow_foreground_only_button", "grant_foreground"),
                   ("Deny", "permission_deny_button", "back")]
    else:
        buttons = [("ALLOW", "permission_allow_button", "grant_foreground"),
                   ("DENY", "permission_deny_button", "back")]
    box = [_text(pkg, message, 900, 200, rid=f"{pkg}:id/permission_message")]
    box += [_button(pkg, text, 1150 + i * 160, f"{pkg}:id/{rid}", action) for i, (text, rid, action) in
            enumerate(buttons)]
    dialog = Node("android.widget.LinearLayout", (40, 850, WIDTH - 40, 1200 + len(buttons) * 160), pkg,
                  rid=f"{pkg}:id/grant_dialog", children=box)
    return _frame(pkg, [dialog])


def location_settings(state: PhoneState, screen: Screen, edits: dict[str, str]) -> Node:
    pkg = "com.android.permissioncontroller"
    sdk = state.identity.sdk
    target = state.packages.get(screen.package)
    fine = target is not None and is_granted(target, FINE, sdk)
    always = target is not None and fine and is_granted(target, BACKGROUND, sdk)
    options = [("Allow all the time", "allow_always_radio_button", "radio_always", always),
               ("Allow only while using the app", "allow_foreground_only_radio_button", "radio_foreground",
                fine and not always),
               ("Ask every time", "ask_radio_button", "radio_deny", False),
               ("Don't allow", "deny_radio_button", "radio_deny", not fine)]
    children = [_text(pkg, "Location permission", 120, rid="android:id/title"),
                _text(pkg, _label(state, screen.package), 260, rid=f"{pkg}:id/entity_header_title")]
    for i, (text, rid, action, checked) in enumerate(options):
        node = _button(pkg, text, 500 + i * 160, f"{pkg}:id/{rid}", action, cls="android.widget.RadioButton")
        node.checkable, node.checked = True, checked
        children.append(node)
    return _frame(pkg, children)


def app_info(state: PhoneState, screen: Screen, edits: dict[str, str]) -> Node:
    pkg = "com.android.settings"
    return _frame(pkg, [_text(pkg, "App info", 120, rid="android:id/title"),
                        _text(pkg, _label(state, screen.package), 260, rid=f"{pkg}:id/entity_header_title"),
                        _button(pkg, "Permissions", 500, "android:id/title", "open_location_settings",
                                cls="android.widget.LinearLayout")])


def battery_dialog(state: PhoneState, screen: Screen, edits: dict[str, str]) -> Node:
    pkg = "com.android.settings"
    label = _label(state, screen.package)
    box = [_text(pkg, "Let app always run in background?", 900, 120, rid="android:id/alertTitle"),
           _text(pkg, f"Allowing {label} to always run in the background may reduce battery life. "
                      "You can change this later from Settings > Apps.", 1030, 220, rid="android:id/message"),
           _button(pkg, "Deny", 1280, "android:id/button2", "back", right=520),
           _button(pkg, "Allow", 1280, "android:id/button1", "battery_allow", left=560)]
    return _frame(pkg, [Node("android.widget.LinearLayout", (40, 850, WIDTH - 40, 1460), pkg,
                             rid="android:id/parentPanel", children=box)])


def owntracks_config(state: PhoneState, screen: Screen, edits: dict[str, str]) -> Node:
    pkg = OWNTRACKS
    try:
        shown = json.dumps(json.loads(screen.data), indent=2, ensure_ascii=False)
        actions = [_button(pkg, "Save", 100, f"{pkg}:id/save", "owntracks_save", left=760, right=1040,
                           cls="android.widget.TextView")]
    except ValueError:
        shown = "Import failed: the configuration is not valid JSON"
        actions = []
    actions.append(_button(pkg, "Close", 100, f"{pkg}:id/close", "back", left=40, right=300,
                           cls="android.widget.TextView"))
    return _frame(pkg, [*actions, _text(pkg, "Import configuration", 260, rid=f"{pkg}:id/title"),
                        _text(pkg, shown, 420, 1500, rid=f"{pkg}:id/effectiveConfiguration")])


BUILDERS: dict[str, Callable[[PhoneState, Screen, dict[str, str]], Node]] = {
    "home": home, "app": app, "permission": permission_dialog, "location_settings": location_settings,
    "app_info": app_info, "battery": battery_dialog, "owntracks_config": owntracks_config,
}
