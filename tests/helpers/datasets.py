"""Dataset test helpers: the fixture files, a registry pointing at them, and a local HTTP
server (127.0.0.1 only) standing in for GitHub or a mirror."""

from __future__ import annotations

import hashlib
import http.server
import shutil
import socket
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest

from clinic_env.datasets import registry as registry_module
from clinic_env.datasets.download import cached_path
from clinic_env.datasets.registry import DatasetSpec, Registry, dataset_spec

FIXTURES = Path(__file__).resolve().parent.parent / "datasets" / "fixtures"
OSCE = FIXTURES / "agentclinic_osce.jsonl"
"""AgentClinic OSCE records with odd shapes: mixed types, empty, broken and repeated ones."""
NEJM = FIXTURES / "agentclinic_nejm.jsonl"
MEDIQ = FIXTURES / "mediq.jsonl"
MEDQA = FIXTURES / "agentclinic_medqa.jsonl"
"""AgentClinic MedQA records reproducing issue 14's defects (results under group keys,
"Elevated" and "Present" values, a base excess of -5 mmol/L, glucose 41 mg/dL, an MRI)."""
MEDQA_EXT = FIXTURES / "agentclinic_medqa_extended.jsonl"
MIMICIV = FIXTURES / "agentclinic_mimiciv.jsonl"
NEJM_EXT = FIXTURES / "agentclinic_nejm_extended.jsonl"
"""NEJM-extended records with refusal text in place of findings, an age-only first line and
role-play instructions."""
MEDIQ_MEDQA = FIXTURES / "mediq_medqa.jsonl"
"""MediQ's MedQA records: an answer of arrows, options -0.45 and 0.45, answers of each kind."""
CRAFTMD = FIXTURES / "mediq_craftmd.jsonl"
FORMAT_FIXTURES = {
    "medqa": (MEDQA, OSCE),
    "medqa-ext": (MEDQA_EXT,),
    "mimiciv": (MIMICIV,),
    "nejm": (NEJM,),
    "nejm-ext": (NEJM_EXT,),
    "mediq-medqa": (MEDIQ_MEDQA, MEDIQ),
    "craftmd": (CRAFTMD,),
}
"""Fixture files written for clinic-env in the format of each registered public dataset."""
FIXTURE_FOR = {"medqa": OSCE, "nejm": NEJM, "craftmd": MEDIQ}
"""Registered names whose download the tests replace with a fixture file."""


def unreachable_url() -> str:
    """A local address nothing listens on: a mirror that behaves like no network at all."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def use_fixture_registry(
    monkeypatch: pytest.MonkeyPatch, fixtures: Mapping[str, Path] = FIXTURE_FOR
) -> None:
    """The real registry, with medqa, nejm and craftmd (or the names given) pinned to the
    checksums of the fixture files standing for them."""
    real = registry_module.dataset_registry()
    datasets = dict(real.datasets)
    for name, path in fixtures.items():
        datasets[name] = datasets[name].model_copy(update={"sha256": sha256(path), "rows": None})
    patched = Registry(sources=real.sources, datasets=datasets)
    monkeypatch.setattr(registry_module, "dataset_registry", lambda: patched)


def place_in_cache(name: str) -> Path:
    """Copy the fixture standing for ``name`` where the cache expects its file."""
    target = cached_path(dataset_spec(name))
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(FIXTURE_FOR[name], target)
    return target


def mirror_layout(root: Path, spec: DatasetSpec, source: Path) -> Path:
    """Put ``source`` where a mirror rooted at ``root`` serves ``spec``'s file."""
    target = root.joinpath(*spec.relative_path.split("/"))
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return target


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves files; under ``/truncated/`` it promises the whole file but stops halfway."""

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the tests read their own assertions, not the server's log."""

    def do_GET(self) -> None:
        if not self.path.startswith("/truncated/"):
            super().do_GET()
            return
        path = Path(self.translate_path(self.path.removeprefix("/truncated")))
        if not path.is_file():
            self.send_error(404)
            return
        body = path.read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2])
        self.wfile.flush()
        self.close_connection = True


@contextmanager
def serve(root: Path) -> Iterator[str]:
    """An HTTP server on 127.0.0.1 serving ``root``; yields its base URL."""

    def handler(*args: object, **kwargs: object) -> _Handler:
        return _Handler(*args, directory=str(root), **kwargs)  # type: ignore[arg-type]

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
