"""Which pages each role sees in the navigation, and where each role lands after sign-in."""

from __future__ import annotations

from dataclasses import dataclass

from crm.org import Role, User

MANAGERS = (Role.executive, Role.division_head, Role.division_admin)
SALES = (*MANAGERS, Role.rep)
FLEET = (Role.sysadmin, *MANAGERS)
REPS = (Role.rep,)


@dataclass(frozen=True)
class NavItem:
    key: str
    path: str
    roles: tuple[Role, ...]


NAV = (
    NavItem("rep", "/rep", REPS),
    NavItem("map", "/map", MANAGERS),
    NavItem("replay", "/replay", MANAGERS),
    NavItem("customers", "/customers", SALES),
    NavItem("pipeline", "/pipeline", SALES),
    NavItem("pool", "/pool", SALES),
    NavItem("tickets", "/tickets", SALES),
    NavItem("alerts", "/alerts", MANAGERS),
    NavItem("reports", "/reports", SALES),
    NavItem("fleet", "/fleet", FLEET),
    # sales ops: the configuration, import and export APIs admit a division's managers and executives
    NavItem("settings", "/settings", MANAGERS),
    NavItem("import", "/import", MANAGERS),
    NavItem("export", "/export", MANAGERS),
)


def nav_for(user: User) -> list[NavItem]:
    role = Role(user.role)
    return [item for item in NAV if role in item.roles]


def landing_path(user: User) -> str:
    items = nav_for(user)
    return items[0].path if items else "/login"
