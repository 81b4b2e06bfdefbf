"""Fetching registered datasets into the user cache, verified by sha256.

A file is downloaded once, streamed into a temporary file beside its final place and renamed
into place only when its checksum matches, so an interrupted or corrupt transfer never leaves
a file that looks cached; a cached file with the wrong checksum is renamed aside, never
deleted. ``CLINIC_ENV_CACHE`` moves the cache, ``CLINIC_ENV_OFFLINE=1``
forbids the network, and every failure names the URL and the exact path where a user may put
the file by hand.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import sys
import tempfile
import urllib.error
import urllib.request
import warnings
from pathlib import Path
from typing import BinaryIO

from tqdm import tqdm

from clinic_env.datasets.defects import DatasetWarning
from clinic_env.datasets.registry import MIRROR_VARIABLE, DatasetSpec
from clinic_env.errors import DatasetDownloadError

CACHE_VARIABLE = "CLINIC_ENV_CACHE"
OFFLINE_VARIABLE = "CLINIC_ENV_OFFLINE"
TIMEOUT_S = 60
CHUNK_BYTES = 1 << 16
_TRUE = frozenset({"1", "true", "yes", "on"})


def cache_dir() -> Path:
    """``$CLINIC_ENV_CACHE``, else the platform's user cache folder for clinic-env."""
    configured = os.environ.get(CACHE_VARIABLE, "").strip()
    if configured:
        return Path(configured).expanduser()
    if sys.platform == "win32":
        local = os.environ.get("LOCALAPPDATA", "").strip()
        return (
            (Path(local) if local else Path.home() / "AppData" / "Local") / "clinic-env" / "Cache"
        )
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "clinic-env"
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(xdg) if xdg else Path.home() / ".cache") / "clinic-env"


def is_offline() -> bool:
    return os.environ.get(OFFLINE_VARIABLE, "").strip().lower() in _TRUE


def cached_path(spec: DatasetSpec) -> Path:
    """Where a dataset's file lives (or must be placed) in the cache."""
    return cache_dir() / "datasets" / Path(*spec.relative_path.split("/"))


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def is_cached(spec: DatasetSpec) -> bool:
    """Whether the cache holds the dataset's file with the right checksum."""
    path = cached_path(spec)
    if not path.is_file():
        return False
    return spec.entry.sha256 is None or sha256_of(path) == spec.entry.sha256


def fetch(spec: DatasetSpec, *, progress: bool = True) -> Path:
    """The verified local file of a registered dataset, downloaded first if need be."""
    path = cached_path(spec)
    if not spec.downloadable:
        if path.is_file():
            return path
        raise DatasetDownloadError(
            f"dataset {spec.name!r} comes from credentialed data and is never downloaded: "
            f"obtain {spec.entry.file} under its data use agreement, then place it at {path} "
            f"or load it by path (load_cases('/path/to/{spec.entry.file}'))"
        )
    expected = spec.entry.sha256 or ""
    url = spec.url()
    if path.is_file():
        found = sha256_of(path)
        if found == expected:
            return path
        aside = set_aside(path)
        note = (
            f"the cached copy of dataset {spec.name!r} at {path} had sha256 {found}, expected "
            f"{expected}; it was moved to {aside} (kept, not deleted)"
        )
        if is_offline():
            raise DatasetDownloadError(
                f"{note}; place the file from {url} at {path}, or unset {OFFLINE_VARIABLE}"
            )
        try:
            download(url, path, expected, progress=progress)
        except DatasetDownloadError as exc:
            raise DatasetDownloadError(f"{exc}. Note: {note}") from None
        warnings.warn(f"{note}; a verified copy was downloaded", DatasetWarning, stacklevel=2)
        return path
    if is_offline():
        raise DatasetDownloadError(
            f"dataset {spec.name!r} is not cached and {OFFLINE_VARIABLE} forbids downloading "
            f"it: download {url} and place it at {path} (sha256 {expected}), or unset "
            f"{OFFLINE_VARIABLE}"
        )
    download(url, path, expected, progress=progress)
    return path


def set_aside(path: Path) -> Path:
    """Rename a file whose checksum is wrong to ``<name>.bad-sha256`` (numbered if taken): a
    user's hand-placed copy is never deleted."""
    target = path.with_name(f"{path.name}.bad-sha256")
    number = 1
    while target.exists():
        target = path.with_name(f"{path.name}.bad-sha256.{number}")
        number += 1
    path.replace(target)
    return target


def download(url: str, destination: Path, sha256: str, *, progress: bool = True) -> None:
    """Stream ``url`` to ``destination`` atomically; nothing is left behind on any failure."""
    hint = (
        f"; fetch it another way and place it at {destination} (sha256 {sha256}), "
        f"or set {MIRROR_VARIABLE} to a mirror"
    )
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(
            prefix=f".{destination.name}.", suffix=".part", dir=destination.parent
        )
    except OSError as exc:
        raise DatasetDownloadError(
            f"{destination.parent}: cannot write to the cache folder ({exc.strerror or exc}); "
            f"set {CACHE_VARIABLE} to a writable folder"
        ) from exc
    temporary = Path(name)
    try:
        with os.fdopen(handle, "wb") as out:
            found = _transfer(url, out, destination.name, hint, progress)
        if found != sha256:
            raise DatasetDownloadError(
                f"the file downloaded from {url} has sha256 {found}, expected {sha256}; "
                f"nothing was saved{hint}"
            )
        temporary.replace(destination)
    finally:
        temporary.unlink(missing_ok=True)


def _transfer(url: str, out: BinaryIO, label: str, hint: str, progress: bool) -> str:
    """Copy the response body to ``out``; the sha256 of what arrived."""
    request = urllib.request.Request(url, headers={"User-Agent": "clinic-env"})
    digest = hashlib.sha256()
    received = 0
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            with tqdm(
                total=total,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=label,
                disable=not progress,
                leave=False,
            ) as bar:
                while chunk := response.read(CHUNK_BYTES):
                    out.write(chunk)
                    digest.update(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
    except urllib.error.HTTPError as exc:
        raise DatasetDownloadError(
            f"could not download {url}: HTTP {exc.code} {exc.reason}{hint}"
        ) from None
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise DatasetDownloadError(f"could not download {url} ({reason}){hint}") from None
    if total is not None and received < total:
        raise DatasetDownloadError(
            f"the download of {url} stopped after {received} of {total} bytes; "
            f"nothing was saved{hint}"
        )
    return digest.hexdigest()
