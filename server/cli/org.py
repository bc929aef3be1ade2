"""Operator commands for divisions and users (run on the server host, audited as `cli`)."""

from __future__ import annotations

import typer
from sqlmodel import Session, select

from crm.errors import DomainError
from crm.org import Division, Role
from crm.org_service import create_division, create_user
from server.auth.secrets import MIN_PASSWORD_LENGTH, hash_password
from server.cli.common import console, fail, ready_engine
from server.config import get_settings

user_app = typer.Typer(help="Users.", no_args_is_help=True)
division_app = typer.Typer(help="Divisions (版块).", no_args_is_help=True)


def _division_id(session: Session, ref: str | None) -> int | None:
    if ref is None:
        return None
    division = session.exec(
        select(Division).where(
            (Division.code == ref) | (Division.name == ref) | (Division.id == _as_int(ref))
        )
    ).first()
    if division is None:
        raise fail(f"no division {ref!r} (create it with `fieldcrm division create`)")
    return division.id


def _as_int(text: str) -> int:
    return int(text) if text.isdigit() else -1


@user_app.command("create")
def user_create(
    username: str = typer.Argument(..., help="Login name."),
    role: Role = typer.Option(
        ..., "--role", help="executive, division_head, rep, division_admin or sysadmin."
    ),
    division: str | None = typer.Option(None, "--division", help="Division code, name or id."),
    display_name: str = typer.Option("", "--name"),
    password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True),
) -> None:
    """Create a user."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise fail(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
    engine = ready_engine(get_settings(), migrate=False)
    with Session(engine) as session:
        try:
            user = create_user(
                session,
                caller=None,
                username=username,
                password_hash=hash_password(password),
                role=role,
                division_id=_division_id(session, division),
                display_name=display_name,
            )
        except DomainError as exc:
            raise fail(exc.detail) from exc
        console.print(f"[green]created[/] user {user.username} (id {user.id}, {user.role})")


@division_app.command("create")
def division_create(name: str, code: str) -> None:
    """Create a division."""
    engine = ready_engine(get_settings(), migrate=False)
    with Session(engine) as session:
        try:
            division = create_division(session, caller=None, name=name, code=code)
        except DomainError as exc:
            raise fail(exc.detail) from exc
        console.print(f"[green]created[/] division {name} ({code}, id {division.id})")
