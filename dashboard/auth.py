"""Who may see a page: the signed-in user from the session cookie, or a redirect to the login page."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request

from crm.org import Role, User
from server.deps import optional_user


class LoginRequired(Exception):
    """Raised by page dependencies when nobody is signed in; answered with a redirect to /login."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class PageForbidden(Exception):
    """Raised when the signed-in user's role may not open a page; answered with an HTML 403."""

    def __init__(self, user: User) -> None:
        super().__init__(user.username)
        self.user = user


def login_url(next_path: str) -> str:
    return "/login?next=" + quote(next_path, safe="/")


async def page_user(request: Request) -> User:
    if (user := await optional_user(request)) is None:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(path)
    return user


PageUser = Annotated[User, Depends(page_user)]


def page_roles(*roles: Role) -> Callable[[User], Coroutine[None, None, User]]:
    """A dependency admitting only these roles to a page."""

    async def check(user: PageUser) -> User:
        if Role(user.role) not in roles:
            raise PageForbidden(user)
        return user

    return check
