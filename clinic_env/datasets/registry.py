"""The dataset registry: every dataset clinic-env knows by name, read from ``cases/registry.yaml``.

Each entry says how its records are written (``format``), where the file lives (a pinned
commit of a public repository, or a bundled folder), its sha256, licence and citation. The
download URL is built here, so a mirror (``CLINIC_ENV_DATA_MIRROR``) only has to reproduce
the ``<owner>/<repo>/<ref>/<path>`` layout of raw.githubusercontent.com.
"""

from __future__ import annotations

import functools
import os
from typing import Literal

from pydantic import Field, model_validator

from clinic_env.content import content_path, load_yaml_model
from clinic_env.errors import UnknownNameError
from clinic_env.schema.base import Frozen

DEFAULT_HOST = "https://raw.githubusercontent.com"
MIRROR_VARIABLE = "CLINIC_ENV_DATA_MIRROR"

FormatName = Literal["clinic-env", "agentclinic", "agentclinic-nejm", "mediq"]
FORMATS: tuple[FormatName, ...] = FormatName.__args__  # type: ignore[attr-defined]
Mode = Literal["open", "mcq"]


class SourceRepository(Frozen):
    """A public repository that datasets are downloaded from, pinned to one commit."""

    repository: str = Field(pattern=r"^[\w.-]+/[\w.-]+$", description="owner/name on GitHub")
    ref: str = Field(pattern=r"^[0-9a-f]{40}$", description="the pinned commit")
    folder: str = Field(default="", description="folder of the files inside the repository")
    homepage: str = Field(min_length=1)
    licence: str = Field(min_length=1)
    citation: str = Field(min_length=1)


class DatasetEntry(Frozen):
    """One named dataset."""

    title: str = Field(min_length=1)
    format: FormatName
    mode: Mode
    bundled: str | None = Field(default=None, description="folder under cases/ (bundled sets)")
    source: str | None = Field(default=None, description="a key of `sources`")
    file: str | None = Field(default=None, description="file name inside the source folder")
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    rows: int | None = Field(default=None, ge=1)
    access: Literal["public", "credentialed"] = "public"
    licence: str | None = None
    citation: str | None = None

    @model_validator(mode="after")
    def _located(self) -> DatasetEntry:
        if (self.bundled is None) == (self.source is None):
            raise ValueError("a dataset is either `bundled` (a folder) or has a `source`")
        if self.bundled is not None and self.format != "clinic-env":
            raise ValueError("a bundled dataset must be in the clinic-env format")
        if self.source is not None and not self.file:
            raise ValueError("a dataset with a `source` needs the `file` to fetch")
        if self.source is not None and self.access == "public" and not self.sha256:
            raise ValueError("a public download needs its `sha256`")
        if self.bundled is not None and not (self.licence and self.citation):
            raise ValueError("a bundled dataset needs its own `licence` and `citation`")
        return self


class Registry(Frozen):
    sources: dict[str, SourceRepository]
    datasets: dict[str, DatasetEntry] = Field(min_length=1)

    @model_validator(mode="after")
    def _sources_exist(self) -> Registry:
        for name, entry in self.datasets.items():
            if entry.source is not None and entry.source not in self.sources:
                known = ", ".join(sorted(self.sources))
                raise ValueError(
                    f"dataset {name!r}: unknown source {entry.source!r} (known: {known})"
                )
        return self


class DatasetSpec(Frozen):
    """A registry entry with its source resolved: everything needed to fetch and cite it."""

    name: str
    entry: DatasetEntry
    source: SourceRepository | None

    @property
    def format(self) -> FormatName:
        return self.entry.format

    @property
    def licence(self) -> str:
        return self.entry.licence or (self.source.licence if self.source else "")

    @property
    def citation(self) -> str:
        return self.entry.citation or (self.source.citation if self.source else "")

    @property
    def version(self) -> str:
        """The pinned commit (foreign sets) or the package's content (bundled sets)."""
        return self.source.ref if self.source else "bundled"

    @property
    def downloadable(self) -> bool:
        return self.source is not None and self.entry.access == "public"

    @property
    def relative_path(self) -> str:
        """``owner/repo/ref/folder/file``: the part of the URL after the host, and the layout
        of both the cache folder and any mirror."""
        if self.source is None or self.entry.file is None:
            raise ValueError(f"dataset {self.name!r} is bundled and has no download path")
        parts = [self.source.repository, self.source.ref, self.source.folder, self.entry.file]
        return "/".join(part.strip("/") for part in parts if part)

    def url(self) -> str:
        """The download URL, with ``CLINIC_ENV_DATA_MIRROR`` in place of GitHub's host."""
        host = os.environ.get(MIRROR_VARIABLE, "").strip() or DEFAULT_HOST
        return f"{host.rstrip('/')}/{self.relative_path}"


@functools.cache
def dataset_registry() -> Registry:
    return load_yaml_model(content_path("cases", "registry.yaml"), Registry)


def dataset_names() -> list[str]:
    """Every registered dataset name, bundled and downloadable."""
    return sorted(dataset_registry().datasets)


def dataset_spec(name: str) -> DatasetSpec:
    registry = dataset_registry()
    entry = registry.datasets.get(name)
    if entry is None:
        known = ", ".join(dataset_names())
        raise UnknownNameError(f"unknown dataset {name!r} (known: {known})")
    source = registry.sources[entry.source] if entry.source else None
    return DatasetSpec(name=name, entry=entry, source=source)
