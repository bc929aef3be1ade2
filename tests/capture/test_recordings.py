from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from capture import (
    NAME_PATTERNS,
    RECORDING_FOLDERS,
    Oem,
    folder_oem,
    is_recording_file,
    parse_recording_name,
)
from tests.capture.conftest import DATA, fuzz


def golden_names():
    for line in (DATA / "recordings" / "names.tsv").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            yield line.split("\t")


@pytest.mark.parametrize(("path", "oem", "number", "name", "started", "pattern"), list(golden_names()))
def test_golden_recording_names(path, oem, number, name, started, pattern):
    result = parse_recording_name(path)
    assert result.oem == oem
    assert result.number == (None if number == "-" else number)
    assert result.contact_name == (None if name == "-" else name)
    assert result.started_at == (None if started == "-" else datetime.fromisoformat(started))
    assert result.pattern == (None if pattern == "-" else pattern)


def test_times_are_naive_phone_local():
    assert parse_recording_name("13812345678_20240501143015.amr").started_at.tzinfo is None


def test_every_pattern_parses_its_own_example():
    for pattern in NAME_PATTERNS:
        result = parse_recording_name(pattern.example)
        assert result.pattern == pattern.key, pattern.key
        assert result.verified is pattern.verified and result.started_at is not None


def test_every_oem_has_a_folder_and_folders_resolve_to_their_oem():
    assert {f.oem for f in RECORDING_FOLDERS} == set(Oem) - {Oem.UNKNOWN}
    for folder in RECORDING_FOLDERS:
        assert folder_oem(f"/storage/emulated/0/{folder.path}/x.m4a") is folder.oem
    assert folder_oem("/sdcard/DCIM/Camera/x.jpg") is None
    assert folder_oem("/sdcard/Recordings/Call recordings/x.m4a") is Oem.AOSP
    assert folder_oem("/sdcard/recordings/call/X.M4A") is Oem.SAMSUNG


def test_recording_extensions():
    assert is_recording_file("a/b/Call recording x_240501_143015.M4A") and is_recording_file("x.amr")
    assert not is_recording_file("x.jpg") and not is_recording_file(".nomedia")


@fuzz(300)
@given(st.text(max_size=300))
def test_any_name_gives_a_result(name):
    result = parse_recording_name(name)
    assert isinstance(result.oem, Oem) and len(result.file_name) <= 255
    assert (result.started_at is None) == (result.pattern is None)
