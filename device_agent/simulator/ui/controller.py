"""The phone's screen stack: what is shown, and what a tap on it does."""

from __future__ import annotations

import base64
import binascii
import io
import json
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, unquote, urlparse

from PIL import Image, ImageDraw

from ..permissions import BACKGROUND, COARSE, FINE, is_granted, set_granted
from .nodes import HEIGHT, WIDTH, Node, find
from .screens import BUILDERS, OWNTRACKS, Screen

if TYPE_CHECKING:
    from ..core import PhoneCore


class UiController:
    def __init__(self, core: PhoneCore) -> None:
        self.core = core
        self.stack: list[Screen] = [Screen("home")]
        self.edits: dict[str, str] = {}

    # --- what is on screen -------------------------------------------------------------
    @property
    def top(self) -> Screen:
        return self.stack[-1]

    def root(self) -> Node:
        with self.core.lock:
            return BUILDERS[self.top.kind](self.core.state, self.top, self.edits)

    def current_package(self) -> str:
        return self.root().package

    def find(self, selector: dict[str, object]) -> list[Node]:
        return find(self.root(), selector)

    # --- navigation ----------------------------------------------------------------------
    def _push(self, screen: Screen) -> None:
        self.stack.append(screen)

    def back(self) -> None:
        if len(self.stack) > 1:
            self.stack.pop()

    def home(self) -> None:
        self.stack = [Screen("home")]

    def force_stop(self, package: str) -> None:
        self.stack = [s for s in self.stack if s.package != package or s.kind == "home"] or [Screen("home")]
        pkg = self.core.state.packages.get(package)
        if pkg is not None:
            pkg.stopped = True

    def launch(self, package: str) -> bool:
        """Start an app's launcher activity; False when there is none."""
        pkg = self.core.state.packages.get(package)
        if pkg is None or not pkg.launcher_activity:
            return False
        pkg.stopped = False
        self._push(Screen("app", package))
        self._ask_permissions(package)
        return True

    def _ask_permissions(self, package: str) -> None:
        """What a location app does on start: ask for location, then (Android 11+) for background."""
        pkg = self.core.state.packages[package]
        sdk = self.core.state.identity.sdk
        if FINE in pkg.requested_permissions and not is_granted(pkg, FINE, sdk):
            self._push(Screen("permission", package))
        elif sdk >= 30 and BACKGROUND in pkg.requested_permissions and not is_granted(pkg, BACKGROUND, sdk):
            self._push(Screen("location_settings", package))

    def open_intent(self, action: str | None, data: str | None, component: str | None) -> bool:
        """Resolve an `am start` intent to a screen; False when nothing handles it."""
        packages = self.core.state.packages
        target = data[len("package:"):] if data and data.startswith("package:") else None
        if component:
            package = component.split("/", 1)[0]
            return self.launch(package)
        if action == "android.intent.action.VIEW" and data and data.startswith("owntracks:"):
            if OWNTRACKS not in packages:
                return False
            packages[OWNTRACKS].stopped = False  # the link starts the app's import activity
            self._push(Screen("owntracks_config", OWNTRACKS, _owntracks_inline(data)))
            return True
        if target is None or target not in packages:
            return False
        if action == "android.settings.REQUEST_IGNORE_BATTERY_OPTIMIZATIONS":
            if target not in self.core.state.deviceidle_whitelist:
                self._push(Screen("battery", target))
            return True
        if action == "android.settings.APPLICATION_DETAILS_SETTINGS":
            self._push(Screen("app_info", target))
            return True
        return False

    # --- input ---------------------------------------------------------------------------
    def click(self, x: float, y: float) -> bool:
        """Tap at (x, y): the innermost clickable node there acts; True if something did."""
        with self.core.lock:
            hits = [n for n in self.root().walk() if n.clickable and n.enabled and n.contains(x, y)]
            if not hits or hits[-1].action is None:
                return bool(hits)
            self._perform(hits[-1].action)
            return True

    def set_text(self, node: Node, text: str) -> bool:
        if node.cls != "android.widget.EditText" or not node.rid:
            return False
        self.edits[node.rid] = text
        return True

    def _perform(self, action: str) -> None:
        screen = self.top
        state = self.core.state
        pkg = state.packages.get(screen.package)
        if action == "back":
            self.back()
        elif action.startswith("launch:"):
            self.launch(action.split(":", 1)[1])
        elif action == "open_location_settings":
            self._push(Screen("location_settings", screen.package))
        elif action == "battery_allow":
            if screen.package not in state.deviceidle_whitelist:
                state.deviceidle_whitelist.append(screen.package)
            self.back()
        elif action == "owntracks_save" and pkg is not None:
            pkg.config = _json_object(screen.data)
            self.back()
            self.core.configured(screen.package)
        elif pkg is not None:
            self._permission_action(action, screen)

    def _permission_action(self, action: str, screen: Screen) -> None:
        pkg = self.core.state.packages[screen.package]
        if action == "grant_foreground":
            set_granted(pkg, [FINE, COARSE], True)
            self.back()
            if self.top.kind == "app":
                self._ask_permissions(screen.package)
        elif action == "grant_always":
            set_granted(pkg, [FINE, COARSE, BACKGROUND], True)
            self.back()
        elif action == "radio_always":
            set_granted(pkg, [FINE, COARSE, BACKGROUND], True)
        elif action == "radio_foreground":
            set_granted(pkg, [FINE, COARSE], True)
            set_granted(pkg, [BACKGROUND], False)
        elif action == "radio_deny":
            set_granted(pkg, [FINE, COARSE, BACKGROUND], False)

    def screenshot_png(self) -> bytes:
        """A rendering of the current screen: boxes and texts of its nodes."""
        image = Image.new("RGB", (WIDTH // 2, HEIGHT // 2), "white")
        draw = ImageDraw.Draw(image)
        for node in self.root().walk():
            left, top, right, bottom = (v // 2 for v in node.bounds)
            if node.clickable:
                draw.rectangle((left, top, right - 1, bottom - 1), outline=(26, 115, 232), width=2)
            if node.text:
                draw.text((left + 6, top + 6), node.text.encode("ascii", "replace").decode(), fill="black")
        out = io.BytesIO()
        image.save(out, format="PNG")
        return out.getvalue()


def _owntracks_inline(uri: str) -> str:
    """The JSON text of an `owntracks:///config?inline=<base64>` link, or "" when it does not decode."""
    values = parse_qs(urlparse(uri).query).get("inline") or [""]
    raw = unquote(values[0]).replace(" ", "+")
    try:
        return base64.b64decode(raw + "=" * (-len(raw) % 4), altchars=b"-_" if "-" in raw or "_" in raw else None,
                                validate=False).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return ""


def _json_object(text: str) -> dict[str, object]:
    value = json.loads(text)
    return value if isinstance(value, dict) else {"value": value}
