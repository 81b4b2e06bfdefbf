"""Where cases come from: the bundled sets and local files in the project's case schema."""

from clinic_env.datasets.loading import DATASETS, dataset_names, load_case_file, load_cases

__all__ = ["DATASETS", "dataset_names", "load_case_file", "load_cases"]
