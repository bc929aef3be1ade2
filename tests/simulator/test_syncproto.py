"""The agent's own sync session (device_agent/syncproto.py) against the simulated phone through adb."""

from __future__ import annotations

import adbutils
import pytest

from device_agent import syncproto
from device_agent.simulator.adbserver import AdbServer
from device_agent.syncproto import SyncSession


@pytest.mark.parametrize("quick_ack", [True, False], ids=["stat-with-recv", "stat-after-recv"])
def test_a_pull_returns_the_bytes_and_the_files_stat(
    adb_server: AdbServer, device: adbutils.AdbDevice, monkeypatch: pytest.MonkeyPatch, quick_ack: bool
) -> None:
    """Both ways of asking for the STAT (with the RECV where the host acknowledges at once, after the
    last byte elsewhere) give the same file and its size; the session serves several pulls."""
    monkeypatch.setattr(syncproto, "QUICK_ACK", quick_ack)
    blobs = {"/data/local/tmp/a.bin": b"fieldcrm" * 300_000, "/data/local/tmp/b.bin": b"x"}
    for path, data in blobs.items():
        device.sync.push(data, path)
    session = SyncSession(adb_server.client, device.serial)
    try:
        for path, data in blobs.items():
            pieces: list[bytearray] = []
            total, entry = session.recv(path, pieces.append)
            assert total == len(data) and b"".join(pieces) == data
            assert entry is not None and entry.size == len(data)
    finally:
        session.close()
