"""Check-in photos: checked to be images, stored once per content under the data dir."""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from crm.errors import DomainError

TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "HEIF": "image/heif"}


@dataclass(frozen=True, slots=True)
class Photo:
    sha256: str
    content_type: str
    data: bytes


def decode_photo(text: str, max_bytes: int) -> Photo:
    """A base64 (or ``data:`` URL) image → :class:`Photo`; DomainError when it is not one."""
    payload = text.partition(",")[2] if text.startswith("data:") else text
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise DomainError("photo is not valid base64", field="photo") from None
    if len(data) > max_bytes:
        raise DomainError(f"photo larger than {max_bytes} bytes", field="photo", status_code=413)
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
            kind = image.format or ""
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise DomainError("photo is not a readable image", field="photo") from None
    if kind not in TYPES:
        raise DomainError(f"photo type {kind or 'unknown'} not accepted (JPEG, PNG, WebP)", field="photo")
    return Photo(hashlib.sha256(data).hexdigest(), TYPES[kind], data)


def photo_path(root: Path, sha256: str) -> Path:
    return root / "checkin_photos" / sha256[:2] / sha256


def store_photo(root: Path, photo: Photo) -> None:
    path = photo_path(root, photo.sha256)
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    partial.write_bytes(photo.data)
    partial.replace(path)
