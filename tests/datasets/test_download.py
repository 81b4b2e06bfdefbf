"""Downloads against a local HTTP server: success, bad checksum, 404, a broken transfer,
offline with and without a cached copy; nothing partial is ever left in the cache."""

from pathlib import Path

import pytest

from clinic_env.datasets import (
    DatasetWarning,
    cache_dir,
    cached_path,
    dataset_spec,
    fetch,
    is_cached,
)
from clinic_env.datasets.download import sha256_of
from clinic_env.errors import DatasetDownloadError
from tests.helpers.datasets import (
    OSCE,
    mirror_layout,
    place_in_cache,
    serve,
    use_fixture_registry,
)


@pytest.fixture(autouse=True)
def fixture_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    use_fixture_registry(monkeypatch)


def files_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def test_download_through_a_mirror_is_verified_and_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated_cache: Path
):
    spec = dataset_spec("medqa")
    mirror_layout(tmp_path / "mirror", spec, OSCE)
    with serve(tmp_path) as base:
        monkeypatch.setenv("CLINIC_ENV_DATA_MIRROR", f"{base}/mirror")
        assert spec.url() == (
            f"{base}/mirror/SamuelSchmidgall/AgentClinic/{spec.source.ref}/agentclinic_medqa.jsonl"
        )
        path = fetch(spec, progress=False)
    assert path == cached_path(spec)
    assert path.read_bytes() == OSCE.read_bytes()
    assert files_in(isolated_cache) == [path]
    assert is_cached(spec)
    assert fetch(spec, progress=False) == path  # cached: no server needed any more


def test_mediq_files_are_fetched_from_their_data_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    spec = dataset_spec("craftmd")
    monkeypatch.setenv("CLINIC_ENV_DATA_MIRROR", "http://host/mirror/")
    assert spec.url() == (
        f"http://host/mirror/stellalisy/mediQ/{spec.source.ref}/data/all_craft_md.jsonl"
    )
    monkeypatch.delenv("CLINIC_ENV_DATA_MIRROR")
    assert spec.url().startswith("https://raw.githubusercontent.com/stellalisy/mediQ/")


def test_checksum_mismatch_saves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated_cache: Path
):
    spec = dataset_spec("medqa")
    served = mirror_layout(tmp_path / "mirror", spec, OSCE)
    served.write_bytes(OSCE.read_bytes() + b"\n{}")
    with serve(tmp_path) as base:
        monkeypatch.setenv("CLINIC_ENV_DATA_MIRROR", f"{base}/mirror")
        with pytest.raises(DatasetDownloadError, match="sha256") as error:
            fetch(spec, progress=False)
    assert str(cached_path(spec)) in str(error.value)
    assert files_in(isolated_cache) == []


def test_404_names_the_url_and_where_to_put_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated_cache: Path
):
    spec = dataset_spec("nejm")
    with serve(tmp_path) as base:
        monkeypatch.setenv("CLINIC_ENV_DATA_MIRROR", f"{base}/nowhere")
        with pytest.raises(DatasetDownloadError, match="HTTP 404") as error:
            fetch(spec, progress=False)
        assert spec.url() in str(error.value)
    assert str(cached_path(spec)) in str(error.value)
    assert files_in(isolated_cache) == []


def test_interrupted_transfer_leaves_no_partial_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated_cache: Path
):
    spec = dataset_spec("medqa")
    mirror_layout(tmp_path / "mirror", spec, OSCE)
    with serve(tmp_path) as base:
        monkeypatch.setenv("CLINIC_ENV_DATA_MIRROR", f"{base}/truncated/mirror")
        with pytest.raises(DatasetDownloadError, match="stopped after"):
            fetch(spec, progress=True)
    assert files_in(isolated_cache) == []
    assert not is_cached(spec)


def test_unreachable_network_says_how_to_place_the_file(isolated_cache: Path):
    spec = dataset_spec("medqa")
    with pytest.raises(DatasetDownloadError) as error:
        fetch(spec, progress=False)
    message = str(error.value)
    assert spec.url() in message
    assert str(cached_path(spec)) in message
    assert spec.entry.sha256 in message
    assert files_in(isolated_cache) == []


def test_offline_without_a_cached_copy(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CLINIC_ENV_OFFLINE", "1")
    spec = dataset_spec("craftmd")
    with pytest.raises(DatasetDownloadError, match="CLINIC_ENV_OFFLINE") as error:
        fetch(spec, progress=False)
    assert spec.url() in str(error.value)
    assert f"place it at {cached_path(spec)}" in str(error.value)


def test_offline_with_a_cached_copy(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CLINIC_ENV_OFFLINE", "true")
    placed = place_in_cache("craftmd")
    assert fetch(dataset_spec("craftmd"), progress=False) == placed


def test_corrupt_cached_copy_is_refused_offline_and_replaced_online(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    spec = dataset_spec("medqa")
    placed = place_in_cache("medqa")
    placed.write_text("damaged")
    monkeypatch.setenv("CLINIC_ENV_OFFLINE", "1")
    with pytest.raises(DatasetDownloadError, match="cached copy"):
        fetch(spec, progress=False)
    monkeypatch.delenv("CLINIC_ENV_OFFLINE")
    mirror_layout(tmp_path / "mirror", spec, OSCE)
    with serve(tmp_path) as base:
        monkeypatch.setenv("CLINIC_ENV_DATA_MIRROR", f"{base}/mirror")
        fetch(spec, progress=False)
    assert sha256_of(placed) == spec.entry.sha256


def test_credentialed_data_is_never_downloaded(tmp_path: Path):
    spec = dataset_spec("mimiciv")
    with pytest.raises(DatasetDownloadError, match="credentialed") as error:
        fetch(spec, progress=False)
    assert str(cached_path(spec)) in str(error.value)
    target = cached_path(spec)
    target.parent.mkdir(parents=True)
    target.write_bytes(OSCE.read_bytes())
    assert fetch(spec, progress=False) == target


def test_cache_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    assert cache_dir() == tmp_path / "cache"
    monkeypatch.delenv("CLINIC_ENV_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr("sys.platform", "linux")
    assert cache_dir() == tmp_path / "xdg" / "clinic-env"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache_dir() == Path.home() / ".cache" / "clinic-env"


def test_a_hand_placed_copy_with_a_wrong_hash_is_kept_aside(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    spec = dataset_spec("medqa")
    placed = place_in_cache("medqa")
    placed.write_text("my own edited copy")
    aside = placed.with_name(f"{placed.name}.bad-sha256")
    monkeypatch.setenv("CLINIC_ENV_OFFLINE", "1")
    with pytest.raises(DatasetDownloadError) as error:
        fetch(spec, progress=False)
    message = str(error.value)
    assert f"moved to {aside}" in message and f"expected {spec.entry.sha256}" in message
    assert aside.read_text() == "my own edited copy"
    assert not placed.exists()
    placed.write_text("a second wrong copy")
    monkeypatch.delenv("CLINIC_ENV_OFFLINE")
    mirror_layout(tmp_path / "mirror", spec, OSCE)
    with serve(tmp_path) as base:
        monkeypatch.setenv("CLINIC_ENV_DATA_MIRROR", f"{base}/mirror")
        with pytest.warns(DatasetWarning, match="bad-sha256.1"):
            assert fetch(spec, progress=False) == placed
    assert sha256_of(placed) == spec.entry.sha256
    assert aside.read_text() == "my own edited copy"
    assert placed.with_name(f"{placed.name}.bad-sha256.1").read_text() == "a second wrong copy"


def test_a_wrong_copy_that_cannot_be_replaced_says_where_it_went(monkeypatch: pytest.MonkeyPatch):
    spec = dataset_spec("nejm")
    placed = place_in_cache("nejm")
    placed.write_text("truncated")
    with pytest.raises(DatasetDownloadError, match=r"could not download .* moved to .*bad-sha256"):
        fetch(spec, progress=False)
    assert placed.with_name(f"{placed.name}.bad-sha256").read_text() == "truncated"
