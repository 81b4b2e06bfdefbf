"""``clinic-env datasets list|fetch|audit|convert``: the registered datasets and their files."""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from clinic_env.datasets import (
    audit_dataset,
    audit_report,
    cache_dir,
    cached_path,
    dataset_names,
    dataset_spec,
    fetch,
    fidelity_of,
    is_cached,
    load_dataset,
)
from clinic_env.datasets.defects import DEFECT_KINDS
from clinic_env.datasets.registry import FORMATS, DatasetSpec
from clinic_env.errors import ConfigError


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = commands.add_parser("datasets", help="list, fetch, audit or convert datasets")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="every registered dataset and whether it is cached")
    listing.add_argument(
        "-v", "--verbose", action="store_true", help="also show URL, sha256 and citation"
    )
    listing.set_defaults(handler=list_datasets)
    fetching = actions.add_parser("fetch", help="download datasets into the cache")
    fetching.add_argument("names", nargs="*", help="dataset names (default: all downloadable)")
    fetching.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    fetching.set_defaults(handler=fetch_datasets)
    auditing = actions.add_parser(
        "audit", help="report leaks, label mismatches, empty cases and (--fidelity) lost values"
    )
    auditing.add_argument("dataset", help="dataset name or path")
    _format_argument(auditing)
    auditing.add_argument(
        "--kind", action="append", choices=DEFECT_KINDS, help="only defects of this kind"
    )
    auditing.add_argument(
        "--fidelity",
        action="store_true",
        help="also check that every raw value reaches its converted case, and count what "
        "was dropped on purpose (placeholders, refusals, role-play)",
    )
    auditing.add_argument(
        "-v", "--verbose", action="store_true", help="with --fidelity: list each dropped text"
    )
    auditing.add_argument(
        "--strict",
        action="store_true",
        help="exit with 1 when any defect (or, with --fidelity, any lost value) is found",
    )
    auditing.set_defaults(handler=audit)
    converting = actions.add_parser("convert", help="export a dataset in clinic-env's schema")
    converting.add_argument("dataset", help="dataset name or path")
    converting.add_argument("--out", type=Path, required=True, help="the JSONL file to write")
    _format_argument(converting)
    converting.add_argument(
        "--redact-leaks",
        action="store_true",
        help="withhold the answer wherever a role would see it",
    )
    converting.set_defaults(handler=convert)


def _format_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format", choices=FORMATS, default=None, help="format of a local file (default: guess)"
    )


def _status(spec: DatasetSpec) -> str:
    if spec.entry.bundled is not None:
        return "bundled"
    if is_cached(spec):
        return "cached"
    return "credentialed" if spec.entry.access == "credentialed" else "not cached"


def _rows(spec: DatasetSpec) -> str:
    """The registry's row count; a bundled set's cases, counted (they ship with the package)."""
    if spec.entry.bundled is not None:
        return str(len(load_dataset(spec.name).cases))
    return str(spec.entry.rows) if spec.entry.rows else "-"


def list_datasets(args: argparse.Namespace) -> int:
    print(f"{'name':<12} {'format':<17} {'mode':<5} {'rows':>5}  {'status':<13} licence")
    for name in dataset_names():
        spec = dataset_spec(name)
        rows = _rows(spec)
        line = f"{name:<12} {spec.format:<17} {spec.entry.mode:<5} {rows:>5}  "
        print(f"{line}{_status(spec):<13} {spec.licence}")
        if args.verbose:
            print(f"    {spec.entry.title}")
            if spec.downloadable:
                print(f"    url: {spec.url()}\n    sha256: {spec.entry.sha256}")
            elif spec.source is not None:
                print(f"    never downloaded; place your copy at {cached_path(spec)}")
            print(f"    cite: {spec.citation}")
    print(f"cache: {cache_dir() / 'datasets'}")
    return 0


def fetch_datasets(args: argparse.Namespace) -> int:
    names = args.names or [n for n in dataset_names() if dataset_spec(n).downloadable]
    for name in names:
        spec = dataset_spec(name)
        if spec.entry.bundled is not None:
            print(f"{name}: bundled with clinic-env, nothing to fetch")
            continue
        print(f"{name}: {fetch(spec, progress=not args.quiet)}")
    return 0


def audit(args: argparse.Namespace) -> int:
    loaded = audit_dataset(args.dataset, format=args.format)
    for line in audit_report(loaded, args.kind or ()):
        print(line)
    lost = False
    if args.fidelity:
        report = fidelity_of(loaded)
        for line in report.lines(dropped=args.verbose):
            print(line)
        lost = bool(report.lost or report.still_held)
    return 1 if args.strict and (loaded.defects or lost) else 0


def convert(args: argparse.Namespace) -> int:
    """Write the cases as clinic-env JSONL (one case per line), replacing the file whole."""
    loaded = load_dataset(args.dataset, format=args.format, redact_leaks=args.redact_leaks)
    out: Path = args.out
    if out.suffix != ".jsonl":
        raise ConfigError(f"--out must name a .jsonl file, got {out}")
    out.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent)
    temporary = Path(name)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            for case in loaded.cases:
                stream.write(case.model_dump_json(exclude_defaults=True) + "\n")
        temporary.replace(out)
    finally:
        temporary.unlink(missing_ok=True)
    print(f"wrote {len(loaded.cases)} cases to {out}")
    print(loaded.summary())
    return 0
