"""Dataset test helpers: the fixture files, a registry pointing at them, and a local HTTP
server (127.0.0.1 only) standing in for GitHub or a mirror."""

from __future__ import annotations

import hashlib
import http.server
import shutil
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from clinic_env.datasets import registry as registry_module
from clinic_env.datasets.download import cached_path
from clinic_env.datasets.registry import DatasetSpec, Registry, dataset_spec

FIXTURES = Path(__file__).resolve().parent.parent / "datasets" / "fixtures"
OSCE = FIXTURES / "agentclinic_osce.jsonl"
NEJM = FIXTURES / "agentclinic_nejm.jsonl"
MEDIQ = FIXTURES / "mediq.jsonl"
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


def use_fixture_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """The real registry, with medqa, nejm and craftmd pinned to the fixtures' checksums."""
    real = registry_module.dataset_registry()
    datasets = dict(real.datasets)
    for name, path in FIXTURE_FOR.items():
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
