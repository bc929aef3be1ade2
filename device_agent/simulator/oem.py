"""OEM profiles: identity, call-recorder folder and file-name pattern per brand.

Folders and patterns follow ../shared/reference/android.md; rows marked
"unverified" there are our best reading and are listed as such in docs/simulator.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Model:
    brand: str
    model: str
    device: str
    product: str
    releases: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class OemProfile:
    key: str
    manufacturer: str
    models: tuple[Model, ...]
    recorder_folder: Callable[[int], str]
    recording_name: Callable[[str | None, str, datetime], str]
    audio_format: str
    serial: Callable[[Callable[[str, int], str]], str]
    tac_prefixes: tuple[str, ...]


SDK_BY_RELEASE = {"8.1.0": 27, "9": 28, "10": 29, "11": 30, "12": 31, "13": 33, "14": 34, "15": 35}


def _xiaomi_name(name: str | None, number: str, at: datetime) -> str:
    return f"通话录音@{name or number}({number})_{at:%Y%m%d%H%M%S}.mp3"


def _samsung_name(name: str | None, number: str, at: datetime) -> str:
    return f"Call recording {name or number}_{at:%y%m%d_%H%M%S}.m4a"


def _huawei_name(name: str | None, number: str, at: datetime) -> str:
    return f"{name or number}_{at:%Y%m%d%H%M%S}.amr"


def _oppo_name(name: str | None, number: str, at: datetime) -> str:
    return f"{name or number}@{at:%Y%m%d%H%M%S}.mp3"


def _vivo_name(name: str | None, number: str, at: datetime) -> str:
    return f"{name + ' ' if name else ''}{number}_{at:%Y%m%d%H%M%S}.m4a"


def _oneplus_name(name: str | None, number: str, at: datetime) -> str:
    return f"{number}_{at:%Y%m%d%H%M%S}.amr"


def _pixel_name(name: str | None, number: str, at: datetime) -> str:
    return f"{name or number}_{at:%Y%m%d_%H%M%S}.m4a"


def _samsung_folder(sdk: int) -> str:
    return "Recordings/Call" if sdk >= 31 else "Call"


def _oppo_folder(sdk: int) -> str:
    return "Music/Recordings/Call Recordings" if sdk >= 30 else "Recordings"


def _pixel_folder(sdk: int) -> str:
    return "Recordings/Call recordings" if sdk >= 31 else "Music/Call Recordings"


def _hex_serial(pick: Callable[[str, int], str]) -> str:
    return pick("0123456789abcdef", 8)


def _samsung_serial(pick: Callable[[str, int], str]) -> str:
    return "R5" + pick("6789", 1) + pick("ABCDEFGHJKLMNPQRSTVWXYZ", 1) + pick("0123456789", 3) + pick(
        "ABCDEFGHJKLMNPQRSTVWXYZ0123456789", 4)


def _huawei_serial(pick: Callable[[str, int], str]) -> str:
    return pick("ABCDEFGHJKLMNPQRSTUVWXYZ", 3) + pick("0123456789", 4) + pick("ABCDEF", 1) + pick("0123456789", 8)


def _pixel_serial(pick: Callable[[str, int], str]) -> str:
    return pick("0123456789", 2) + pick("0123456789ABCDEFGHJKLMNPQRSTUVWXYZ", 12)


OEMS: dict[str, OemProfile] = {
    "xiaomi": OemProfile(
        "xiaomi", "Xiaomi",
        (Model("Redmi", "23021RAAEG", "tapas", "tapas_global", ("13",)),
         Model("Xiaomi", "2211133C", "fuxi", "fuxi", ("13", "14")),
         Model("Redmi", "M2003J15SC", "merlin", "merlin", ("10", "11"))),
        lambda sdk: "MIUI/sound_recorder/call_rec", _xiaomi_name, "mp3", _hex_serial, ("86958005", "86752604")),
    "samsung": OemProfile(
        "samsung", "samsung",
        (Model("samsung", "SM-S9110", "dm1q", "dm1qzcx", ("13", "14")),
         Model("samsung", "SM-A5360", "a53x", "a53xzcx", ("12", "13")),
         Model("samsung", "SM-G9730", "beyond1q", "beyond1qltezc", ("9", "10", "11"))),
        _samsung_folder, _samsung_name, "m4a", _samsung_serial, ("35291811", "35449411")),
    "huawei": OemProfile(
        "huawei", "HUAWEI",
        (Model("HUAWEI", "ELS-AN00", "HWELS", "ELS-AN00", ("10",)),
         Model("HONOR", "ANY-AN00", "HNANY-Q1", "ANY-AN00", ("11", "12")),
         Model("HUAWEI", "VOG-AL00", "HWVOG", "VOG-AL00", ("9", "10"))),
        lambda sdk: "Sounds/CallRecord", _huawei_name, "amr", _huawei_serial, ("86670104", "86410504")),
    "oppo": OemProfile(
        "oppo", "OPPO",
        (Model("OPPO", "PGEM10", "OP52E1L1", "PGEM10", ("12", "13")),
         Model("OPPO", "PCLM10", "OP4873", "PCLM10", ("10", "11"))),
        _oppo_folder, _oppo_name, "mp3", _hex_serial, ("86851305", "86096305")),
    "vivo": OemProfile(
        "vivo", "vivo",
        (Model("vivo", "V2227A", "PD2227", "PD2227", ("13",)),
         Model("vivo", "V2055A", "PD2055", "PD2055", ("11", "12"))),
        lambda sdk: "Record/Call", _vivo_name, "m4a", _hex_serial, ("86098205", "86717705")),
    "oneplus": OemProfile(
        "oneplus", "OnePlus",
        (Model("OnePlus", "PHB110", "OP5913L1", "PHB110", ("13", "14")),
         Model("OnePlus", "KB2000", "OnePlus8T", "OnePlus8T_CH", ("11",))),
        lambda sdk: "Record/PhoneRecord", _oneplus_name, "amr", _hex_serial, ("86254705", "86935605")),
    "pixel": OemProfile(
        "pixel", "Google",
        (Model("google", "Pixel 7", "panther", "panther", ("13", "14")),
         Model("google", "Pixel 4a", "sunfish", "sunfish", ("11", "12", "13")),
         Model("google", "Pixel 3", "blueline", "blueline", ("9", "10"))),
        _pixel_folder, _pixel_name, "m4a", _pixel_serial, ("35325911", "35866411")),
}

DEFAULT_MIX = ("xiaomi", "samsung", "huawei", "oppo", "vivo", "xiaomi", "oneplus", "pixel")
