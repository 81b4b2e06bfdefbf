"""Where cases come from: the bundled sets, public datasets fetched by name, and local files.

``load_cases("medqa")`` downloads AgentClinic's MedQA set on first use (verified by sha256,
cached in the user cache folder), converts its records to :class:`~clinic_env.schema.case.Case`
and warns once if any record is defective; ``load_cases(path)`` reads a local file in the
project's schema or a supported foreign format. ``cases/registry.yaml`` lists the names;
:func:`audit_fidelity` checks that every raw value reached the converted cases.
"""

from clinic_env.datasets.audit import audit_dataset, audit_report
from clinic_env.datasets.defects import DatasetWarning, Defect, LoadedDataset
from clinic_env.datasets.download import cache_dir, cached_path, fetch, is_cached
from clinic_env.datasets.fidelity import FidelityReport, audit_fidelity, fidelity_of
from clinic_env.datasets.leaks import find_leaks, redact
from clinic_env.datasets.loading import at_hand, find_case, load_cases, load_dataset
from clinic_env.datasets.native import load_case_file, load_case_folder
from clinic_env.datasets.registry import DatasetSpec, dataset_names, dataset_registry, dataset_spec

__all__ = [
    "DatasetSpec",
    "DatasetWarning",
    "Defect",
    "FidelityReport",
    "LoadedDataset",
    "at_hand",
    "audit_dataset",
    "audit_fidelity",
    "audit_report",
    "cache_dir",
    "cached_path",
    "dataset_names",
    "dataset_registry",
    "dataset_spec",
    "fetch",
    "fidelity_of",
    "find_case",
    "find_leaks",
    "is_cached",
    "load_case_file",
    "load_case_folder",
    "load_cases",
    "load_dataset",
    "redact",
]
