"""Case images relayed to the page: local files, remote URLs and data URLs, pictures only.

The page gets an image by number, never its location (a file name or URL can name the
diagnosis), so errors here do not quote the location either. Only raster image types are
served: an SVG or HTML file would run in the page's own origin.
"""

from __future__ import annotations

import base64
import binascii
import mimetypes
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from clinic_env.errors import UnknownNameError, UserError

PICTURES = frozenset(
    {"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp", "image/tiff"}
)
MAX_BYTES = 20 * 2**20
FETCH_TIMEOUT_S = 20


def _from_data_url(location: str) -> tuple[bytes, str]:
    header, _, body = location.partition(",")
    kind = header.removeprefix("data:").split(";")[0]
    try:
        if header.endswith(";base64"):
            return base64.b64decode(body, validate=True), kind
        return urllib.parse.unquote_to_bytes(body), kind
    except (binascii.Error, ValueError):
        raise UserError("the image's data URL is not valid base64") from None


def _from_url(location: str) -> tuple[bytes, str]:
    try:
        with urllib.request.urlopen(location, timeout=FETCH_TIMEOUT_S) as reply:
            return reply.read(MAX_BYTES + 1), reply.headers.get_content_type()
    except urllib.error.HTTPError as exc:
        raise UserError(f"the image could not be fetched (HTTP {exc.code})") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise UserError(f"the image could not be fetched ({type(exc).__name__})") from None


def _from_file(location: str) -> tuple[bytes, str]:
    path = Path(location)
    if not path.is_file():
        raise UnknownNameError("the image is not on this machine")
    if path.stat().st_size > MAX_BYTES:
        raise UserError("the image is over 20 MiB")
    return path.read_bytes(), mimetypes.guess_type(path.name)[0] or "unknown"


def image_bytes(location: str) -> tuple[bytes, str]:
    """The picture at ``location`` and its media type; an error if it is anything else."""
    if location.startswith("data:"):
        data, kind = _from_data_url(location)
    elif location.startswith(("http://", "https://")):
        data, kind = _from_url(location)
    else:
        data, kind = _from_file(location)
    if kind not in PICTURES:
        raise UserError(f"the image is not a picture the page shows ({kind})")
    if len(data) > MAX_BYTES:
        raise UserError("the image is over 20 MiB")
    return data, kind
