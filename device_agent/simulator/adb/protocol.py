"""adb packet framing (24-byte header of six little-endian u32 + payload)."""

from __future__ import annotations

import asyncio
import struct
from dataclasses import dataclass

A_SYNC = 0x434E5953
A_CNXN = 0x4E584E43
A_AUTH = 0x48545541
A_OPEN = 0x4E45504F
A_OKAY = 0x59414B4F
A_CLSE = 0x45534C43
A_WRTE = 0x45545257
A_STLS = 0x534C5453

AUTH_TOKEN = 1
AUTH_SIGNATURE = 2
AUTH_RSAPUBLICKEY = 3

VERSION = 0x01000001
VERSION_SKIP_CHECKSUM = 0x01000001
MAX_PAYLOAD = 1024 * 1024

_HEADER = struct.Struct("<6I")
HEADER_SIZE = _HEADER.size

COMMAND_NAMES = {
    A_SYNC: "SYNC", A_CNXN: "CNXN", A_AUTH: "AUTH", A_OPEN: "OPEN",
    A_OKAY: "OKAY", A_CLSE: "CLSE", A_WRTE: "WRTE", A_STLS: "STLS",
}


class ProtocolError(Exception):
    """The peer sent something that is not a valid adb packet."""


@dataclass(frozen=True, slots=True)
class Packet:
    command: int
    arg0: int
    arg1: int
    data: bytes

    @property
    def name(self) -> str:
        return COMMAND_NAMES.get(self.command, hex(self.command))


def checksum(data: bytes | bytearray | memoryview) -> int:
    """Byte sum, as adb computes it for peers older than VERSION_SKIP_CHECKSUM."""
    return sum(data) & 0xFFFFFFFF


def header(command: int, arg0: int, arg1: int, length: int, check: int) -> bytes:
    return _HEADER.pack(command, arg0, arg1, length, check, command ^ 0xFFFFFFFF)


async def read_packet(reader: asyncio.StreamReader, *, max_payload: int, verify_checksum: bool) -> Packet:
    """Read one packet; raises asyncio.IncompleteReadError at EOF and ProtocolError on garbage.

    A CNXN's checksum is checked by the version it announces (the peer's version is not known before it).
    """
    header = await reader.readexactly(HEADER_SIZE)
    command, arg0, arg1, length, check, magic = _HEADER.unpack(header)
    if magic != command ^ 0xFFFFFFFF:
        raise ProtocolError(f"bad magic for command {command:#x}")
    if command not in COMMAND_NAMES:
        raise ProtocolError(f"unknown command {command:#x}")
    if length > max_payload:
        raise ProtocolError(f"payload of {length} bytes exceeds {max_payload}")
    data = await reader.readexactly(length) if length else b""
    if command == A_CNXN:
        verify_checksum = arg0 < VERSION_SKIP_CHECKSUM
    if verify_checksum and data and checksum(data) != check:
        raise ProtocolError("payload checksum mismatch")
    return Packet(command, arg0, arg1, data)
