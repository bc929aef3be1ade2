"""The ``fieldcrm`` command, run as a user runs it (a real process, real HTTP)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from server.cli.main import COMMANDS, command_app
from tests.conftest import TEST_SECRET, free_port

FIELDCRM = shutil.which("fieldcrm") or str(Path(sys.executable).parent / "fieldcrm")


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIELDCRM_")}
    env |= {"FIELDCRM_DATA_DIR": str(tmp_path / "data"), "FIELDCRM_SECRET_KEY": TEST_SECRET} | extra
    return env


def _run(args: list[str], env: dict[str, str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([FIELDCRM, *args], env=env, capture_output=True, text=True, timeout=120, **kwargs)


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_subcommand_has_help(command: str):
    result = CliRunner().invoke(command_app(command), [command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_overview_and_unknown_command(tmp_path: Path):
    overview = _run(["--help"], _env(tmp_path))
    assert overview.returncode == 0
    assert all(name in overview.stdout for name in COMMANDS)
    unknown = _run(["frobnicate"], _env(tmp_path))
    assert unknown.returncode == 2 and "no such command" in unknown.stderr


def test_serve_refuses_the_default_secret_outside_dev_mode(tmp_path: Path):
    env = _env(tmp_path)
    del env["FIELDCRM_SECRET_KEY"]
    result = _run(["serve"], env)
    assert result.returncode == 1
    assert "FIELDCRM_SECRET_KEY" in result.stderr


def test_serve_refuses_an_unmigrated_database(tmp_path: Path):
    result = _run(["serve"], _env(tmp_path))
    assert result.returncode == 1
    assert "fieldcrm db upgrade" in result.stderr.replace("\n", " ")


def test_workers_need_postgresql(tmp_path: Path):
    result = _run(["serve", "--workers", "2"], _env(tmp_path))
    assert result.returncode == 1 and "PostgreSQL" in result.stderr


def test_upgrade_create_users_and_serve(tmp_path: Path):
    env = _env(tmp_path)
    assert _run(["db", "upgrade"], env).returncode == 0
    current = _run(["db", "current"], env)
    assert current.returncode == 0 and "pending" not in current.stdout
    assert _run(["division", "create", "华东销售部", "EAST"], env).returncode == 0
    created = _run(
        [
            "user",
            "create",
            "east.head",
            "--role",
            "division_head",
            "--division",
            "EAST",
            "--password",
            "s3cret-pass",
        ],
        env,
    )
    assert created.returncode == 0, created.stderr
    bad_role = _run(["user", "create", "x", "--role", "rep", "--password", "s3cret-pass"], env)
    assert bad_role.returncode == 1 and "division" in bad_role.stderr
    port = free_port()
    server = subprocess.Popen([FIELDCRM, "serve", "--port", str(port)], env=env)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not come up"
            time.sleep(0.2)
        login = httpx.post(
            f"{base}/api/v1/auth/login", json={"username": "east.head", "password": "s3cret-pass"}
        )
        assert login.status_code == 200
        token = login.json()["access_token"]
        me = httpx.get(f"{base}/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert me.json()["role"] == "division_head"
    finally:
        server.terminate()
        server.wait(timeout=20)
