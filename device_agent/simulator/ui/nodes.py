"""View nodes, their XML (as dumpWindowHierarchy returns it) and uiautomator selectors."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from xml.sax.saxutils import quoteattr

WIDTH, HEIGHT = 1080, 2400


@dataclass
class Node:
    cls: str
    bounds: tuple[int, int, int, int]
    package: str
    text: str = ""
    rid: str = ""
    desc: str = ""
    clickable: bool = False
    checkable: bool = False
    checked: bool = False
    enabled: bool = True
    focusable: bool = False
    scrollable: bool = False
    action: str | None = None
    children: list[Node] = field(default_factory=list)

    def walk(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            yield from child.walk()

    def contains(self, x: float, y: float) -> bool:
        left, top, right, bottom = self.bounds
        return left <= x < right and top <= y < bottom

    def info(self) -> dict[str, object]:
        """objInfo's answer."""
        left, top, right, bottom = self.bounds
        box = {"left": left, "top": top, "right": right, "bottom": bottom}
        return {"bounds": box, "visibleBounds": dict(box), "checkable": self.checkable, "checked": self.checked,
                "childCount": len(self.children), "className": self.cls, "clickable": self.clickable,
                "contentDescription": self.desc or None, "enabled": self.enabled, "focusable": self.focusable,
                "focused": False, "longClickable": False, "packageName": self.package,
                "resourceName": self.rid or None, "scrollable": self.scrollable, "selected": False,
                "text": self.text}


def _b(value: bool) -> str:
    return "true" if value else "false"


def to_xml(root: Node, rotation: int = 0) -> str:
    lines = ["<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>", f'<hierarchy rotation="{rotation}">']

    def emit(node: Node, index: int, depth: int) -> None:
        left, top, right, bottom = node.bounds
        attrs = (f'index="{index}" text={quoteattr(node.text)} resource-id={quoteattr(node.rid)} '
                 f'class="{node.cls}" package="{node.package}" content-desc={quoteattr(node.desc)} '
                 f'checkable="{_b(node.checkable)}" checked="{_b(node.checked)}" clickable="{_b(node.clickable)}" '
                 f'enabled="{_b(node.enabled)}" focusable="{_b(node.focusable)}" focused="false" '
                 f'scrollable="{_b(node.scrollable)}" long-clickable="false" password="false" selected="false" '
                 f'visible-to-user="true" bounds="[{left},{top}][{right},{bottom}]" drawing-order="{index}" hint="" '
                 f'display-id="0"')
        pad = "  " * depth
        if node.children:
            lines.append(f"{pad}<node {attrs}>")
            for i, child in enumerate(node.children):
                emit(child, i, depth + 1)
            lines.append(f"{pad}</node>")
        else:
            lines.append(f"{pad}<node {attrs} />")

    emit(root, 0, 1)
    lines.append("</hierarchy>")
    return "\r\n".join(lines)


class SelectorError(ValueError):
    """A selector the server cannot use."""


_TEXT_TESTS = {
    "text": lambda v, s: v == s,
    "textContains": lambda v, s: s in v,
    "textStartsWith": lambda v, s: v.startswith(s),
    "textMatches": lambda v, s: re.fullmatch(s, v, re.S) is not None,
}


def _matches(node: Node, selector: dict[str, object]) -> bool:
    for key, wanted in selector.items():
        if key in ("mask", "childOrSibling", "childOrSiblingSelector", "instance", "index"):
            continue
        if key in _TEXT_TESTS or key.startswith("description"):
            value = node.desc if key.startswith("description") else node.text
            test = _TEXT_TESTS[key.replace("description", "text")]
            if not test(value, str(wanted)):
                return False
        elif key in ("className", "packageName", "resourceId"):
            if {"className": node.cls, "packageName": node.package, "resourceId": node.rid}[key] != wanted:
                return False
        elif key in ("classNameMatches", "packageNameMatches", "resourceIdMatches"):
            value = {"classNameMatches": node.cls, "packageNameMatches": node.package,
                     "resourceIdMatches": node.rid}[key]
            if re.fullmatch(str(wanted), value) is None:
                return False
        elif key in ("clickable", "checkable", "checked", "enabled", "focusable", "scrollable"):
            if getattr(node, key) != bool(wanted):
                return False
        elif key in ("longClickable", "focused", "selected"):
            if bool(wanted):
                return False
        else:
            raise SelectorError(f"unsupported selector field {key!r}")
    return True


def find(root: Node, selector: dict[str, object]) -> list[Node]:
    """Nodes matching a uiautomator2 selector, honouring child/sibling chains and `instance`."""
    if not isinstance(selector, dict):
        raise SelectorError("selector must be an object")
    found = [n for n in root.walk() if _matches(n, selector)]
    for relation, sub in zip(selector.get("childOrSibling") or [], selector.get("childOrSiblingSelector") or [],
                             strict=False):
        if not isinstance(sub, dict):
            raise SelectorError("childOrSiblingSelector entries must be objects")
        pool: list[Node] = []
        for node in found:
            if relation == "child":
                pool += [n for c in node.children for n in c.walk()]
            else:
                parents = [p for p in root.walk() if node in p.children]
                pool += [c for p in parents for c in p.children if c is not node]
        found = [n for n in pool if _matches(n, sub)]
        if "instance" in sub:
            found = found[int(sub["instance"]):][:1]  # type: ignore[call-overload]
    instance = selector.get("instance")
    if instance is not None:
        found = found[int(instance):][:1]  # type: ignore[call-overload]
    return found
