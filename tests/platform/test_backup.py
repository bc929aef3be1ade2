"""`fieldcrm backup` / `restore`: a database and its files come back exactly; hostile archives are refused."""

from __future__ import annotations

import io
import os
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlmodel import Session, select

from crm.org import Division
from server.backup import BackupError, create_backup, restore_backup
from server.config import Settings
from server.db import make_engine
from server.migrate import upgrade
from tests.conftest import TEST_SECRET


def _prepared(settings: Settings) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.effective_database_url)
    engine = make_engine(settings.effective_database_url)
    with Session(engine) as session:
        session.add(Division(name="华东销售部", code="EAST"))
        session.commit()
    engine.dispose()
    recording = settings.data_dir / "recordings" / "ab" / "abcdef.mp3"
    recording.parent.mkdir(parents=True)
    recording.write_bytes(b"ID3 fake-but-bytes")


def _wreck(settings: Settings) -> None:
    engine = make_engine(settings.effective_database_url)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM division"))
    engine.dispose()
    (settings.data_dir / "recordings" / "ab" / "abcdef.mp3").unlink()


def _divisions(settings: Settings) -> list[str]:
    engine = make_engine(settings.effective_database_url)
    with Session(engine) as session:
        names = [d.name for d in session.exec(select(Division))]
    engine.dispose()
    return names


@pytest.fixture
def pg_settings(tmp_path: Path) -> Iterator[Settings]:
    base = os.environ.get("FIELDCRM_TEST_DATABASE_URL")
    if not base:
        pytest.skip("PostgreSQL backup is tested when FIELDCRM_TEST_DATABASE_URL is set (CI's second run)")
    url = make_url(base)
    name = f"{url.database}_backup"
    admin = make_engine(base, pool_size=1)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield Settings(
        secret_key=TEST_SECRET,
        data_dir=tmp_path / "data",
        database_url=url.set(database=name).render_as_string(hide_password=False),
    )
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _round_trip(settings: Settings, tmp_path: Path) -> None:
    _prepared(settings)
    archive = tmp_path / "backup.tar.gz"
    summary = create_backup(settings, archive)
    assert summary.files == 1
    _wreck(settings)
    assert _divisions(settings) == []
    restored = restore_backup(settings, archive)
    assert restored.files == 1
    assert _divisions(settings) == ["华东销售部"]
    assert (settings.data_dir / "recordings" / "ab" / "abcdef.mp3").read_bytes() == b"ID3 fake-but-bytes"


def test_sqlite_round_trip(tmp_path: Path):
    _round_trip(Settings(secret_key=TEST_SECRET, data_dir=tmp_path / "data", database_url=None), tmp_path)


def test_postgresql_round_trip(pg_settings: Settings, tmp_path: Path):
    _round_trip(pg_settings, tmp_path)


def _archive(tmp_path: Path, members: dict[str, bytes]) -> Path:
    path = tmp_path / "evil.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


@pytest.mark.parametrize(
    "members",
    [
        {"manifest.json": b'{"format": 1, "backend": "sqlite"}', "../escape.txt": b"x"},
        {"manifest.json": b'{"format": 1, "backend": "sqlite"}', "/etc/evil": b"x"},
        {"manifest.json": b"not json"},
        {"manifest.json": b'{"format": 99, "backend": "sqlite"}'},
        {"manifest.json": b'{"format": 1, "backend": "postgresql"}'},
        {"other.txt": b"x"},
    ],
)
def test_hostile_or_foreign_archives_are_refused(tmp_path: Path, members: dict[str, bytes]):
    settings = Settings(secret_key=TEST_SECRET, data_dir=tmp_path / "data", database_url=None)
    with pytest.raises(BackupError):
        restore_backup(settings, _archive(tmp_path, members))
    assert not (tmp_path / "escape.txt").exists()


def test_garbage_and_truncated_files_are_refused(tmp_path: Path):
    settings = Settings(secret_key=TEST_SECRET, data_dir=tmp_path / "data", database_url=None)
    garbage = tmp_path / "garbage.tar.gz"
    garbage.write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(BackupError):
        restore_backup(settings, garbage)
    _prepared(settings)
    good = tmp_path / "good.tar.gz"
    create_backup(settings, good)
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(BackupError):
        restore_backup(settings, truncated)
    assert _divisions(settings) == ["华东销售部"]  # nothing was touched
