"""Uploaded images: checked, cleaned and stored by content hash (docs/media.md).

`process_image` is pure: it accepts only JPEG, PNG and WebP (by their content, not their name),
refuses decompression bombs, turns the picture upright by its EXIF orientation, then re-encodes
it without any metadata (no EXIF: no GPS position, no camera serial), at most 1600 px on its long
side, plus a 400 px thumbnail, both WebP. The stored name of each file is the SHA-256 of its
bytes, so the same picture is stored once and a name can never point at other content.

`LocalMediaStore` keeps the files under a directory (LIVEPLEDGE_MEDIA_DIR). For S3-compatible
object storage, mount the bucket at that directory (docs/media.md)."""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

ACCEPTED_FORMATS = frozenset({"JPEG", "PNG", "WEBP"})
MAX_PIXELS = 40_000_000  # a bigger picture is refused before it is decoded
LARGE_EDGE = 1600
THUMB_EDGE = 400
KEY = re.compile(r"^[0-9a-f]{64}\.webp$")


class ImageRefused(ValueError):
    """Not an image we accept; the message says why, in Chinese and English."""


@dataclass(frozen=True)
class ProcessedImage:
    large: bytes
    thumb: bytes
    width: int
    height: int

    @property
    def large_key(self) -> str:
        return hashlib.sha256(self.large).hexdigest() + ".webp"

    @property
    def thumb_key(self) -> str:
        return hashlib.sha256(self.thumb).hexdigest() + ".webp"


def _encode(picture: Image.Image, edge: int) -> bytes:
    copy = picture.copy()
    copy.thumbnail((edge, edge), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    copy.save(out, format="WEBP", quality=85, method=4)  # no exif= : no metadata is written
    return out.getvalue()


def process_image(data: bytes) -> ProcessedImage:
    try:
        with Image.open(io.BytesIO(data)) as probe:
            kind = probe.format
            width, height = probe.size
    except Image.DecompressionBombError as exc:
        raise ImageRefused("图片像素过多 / too many pixels") from exc
    except (UnidentifiedImageError, OSError) as exc:
        raise ImageRefused("不是可识别的图片 / not a picture we can read") from exc
    if kind not in ACCEPTED_FORMATS:
        raise ImageRefused(f"只接受 JPEG、PNG、WebP / only JPEG, PNG and WebP (got {kind})")
    if width * height > MAX_PIXELS:
        raise ImageRefused(f"图片像素过多（{width}×{height}）/ too many pixels "
                           f"({width}x{height}; at most {MAX_PIXELS:,})")
    try:
        with Image.open(io.BytesIO(data)) as opened:
            picture = ImageOps.exif_transpose(opened)
            picture = picture.convert("RGBA" if "A" in picture.getbands() else "RGB")
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ImageRefused("图片已损坏 / the picture is damaged") from exc
    return ProcessedImage(large=_encode(picture, LARGE_EDGE), thumb=_encode(picture, THUMB_EDGE),
                          width=picture.width, height=picture.height)


class LocalMediaStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, key: str) -> Path | None:
        if not KEY.match(key):
            return None
        return self.root / key[:2] / key

    def put(self, key: str, data: bytes) -> None:
        """Write once: a key names its content, so an existing file is already right. The file
        appears whole or not at all (written aside, then renamed)."""
        target = self.path(key)
        if target is None:
            raise ValueError(f"not a media key: {key}")
        if target.exists():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, suffix=".part")
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, target)
