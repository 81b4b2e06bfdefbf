"""An experiment's grid, generated lazily: its jobs in their fixed order, one at a time.

A grid of 200,000 cells is a few tuples of axis values, not 200,000 objects: its size is a
product, its ``i``-th job is decoded from ``i`` (mixed radix), its cell ids are formatted
without building cells, and a cell id maps back to its position with a few dict lookups. So
planning, resuming and checking a run never hold the whole grid in memory, and Ray workers
receive positions rather than jobs (see :mod:`clinic_env.runner.ray_runner`).
"""

from __future__ import annotations

import weakref
from collections import Counter
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import product
from typing import Any, overload

from clinic_env.errors import ConfigError
from clinic_env.runner.batch import Cell, Job, cell_id
from clinic_env.schema.case import Case


@dataclass(frozen=True, eq=False)
class Grid(Sequence[Job]):
    """Dataset and case x persona x bias set x doctor x seed x repeat, in that order.

    Cell ids are unique when every axis is (checked here, saying which value repeats), since
    persona, bias and doctor names hold no ``/`` (also checked): a cell id then splits back
    into its parts from the right, which is how :meth:`position` finds a cell.
    """

    cases: tuple[tuple[str, Case], ...]
    """(dataset, case) pairs in grid order."""
    personas: tuple[str, ...]
    bias_sets: tuple[tuple[str, ...], ...]
    doctors: tuple[str, ...]
    seeds: tuple[int, ...]
    repeats: int

    def __post_init__(self) -> None:
        names = [("persona", name) for name in self.personas]
        names += [("bias", bias) for biases in self.bias_sets for bias in biases]
        names += [("doctor", name) for name in self.doctors]
        for kind, name in names:
            if "/" in name or not name:
                raise ConfigError(
                    f"{kind} {name!r} cannot name a grid cell: use a name without '/'"
                )
        axes = {
            "dataset and case": list(self._case_labels()),
            "persona": list(self.personas),
            "bias set": list(self._bias_labels()),
            "doctor": list(self.doctors),
            "seed": [str(seed) for seed in self.seeds],
        }
        for axis, values in axes.items():
            twice = [value for value, count in Counter(values).items() if count > 1]
            if twice:
                raise ConfigError(
                    f"the grid names the same consultation twice ({axis} {twice[0]!r} is "
                    "listed more than once); remove duplicate entries"
                )

    def _case_labels(self) -> Iterator[str]:
        return (f"{dataset}/{case.id}" for dataset, case in self.cases)

    def _bias_labels(self) -> Iterator[str]:
        return ("+".join(biases) or "none" for biases in self.bias_sets)

    @cached_property
    def _radices(self) -> tuple[int, int, int, int, int]:
        """Sizes of the axes after the case's, innermost last."""
        personas, biases = len(self.personas), len(self.bias_sets)
        return personas, biases, len(self.doctors), len(self.seeds), self.repeats

    def __len__(self) -> int:
        count = len(self.cases)
        for radix in self._radices:
            count *= radix
        return count

    @overload
    def __getitem__(self, index: int) -> Job: ...
    @overload
    def __getitem__(self, index: slice) -> list[Job]: ...
    def __getitem__(self, index: int | slice) -> Job | list[Job]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        size = len(self)
        if not -size <= index < size:
            raise IndexError(f"grid position {index} is outside a grid of {size} cells")
        rest, place = index % size, []
        for radix in reversed(self._radices):
            rest, at = divmod(rest, radix)
            place.append(at)
        return self._job(rest, *reversed(place))

    def _job(self, case: int, *place: int) -> Job:
        """The job at ``case`` and (persona, bias set, doctor, seed, repeat) indices."""
        persona, bias, doctor, seed, repeat = place
        dataset, played = self.cases[case]
        cell = Cell(
            dataset=dataset,
            case_id=played.id,
            persona=self.personas[persona],
            biases=self.bias_sets[bias],
            doctor=self.doctors[doctor],
            seed=self.seeds[seed],
            repeat=repeat,
        )
        return Job(cell, played)

    def __iter__(self) -> Iterator[Job]:
        axes = (range(len(self.cases)), *(range(radix) for radix in self._radices))
        return (self._job(*place) for place in product(*axes))

    def __contains__(self, job: object) -> bool:
        return isinstance(job, Job) and self.position(job.id) is not None

    def ids(self) -> Iterator[str]:
        """Every cell id in grid order, each formatted from its parts (no cell is built)."""
        axes = (self.personas, self.bias_sets, self.doctors, self.seeds, range(self.repeats))
        for (dataset, case), persona, biases, doctor, seed, repeat in product(self.cases, *axes):
            yield cell_id(
                dataset=dataset,
                case_id=case.id,
                persona=persona,
                biases=biases,
                doctor=doctor,
                seed=seed,
                repeat=repeat,
            )

    @property
    def cell_ids(self) -> CellIds:
        """The grid's cell ids as a collection: sized, iterable, with a quick ``in``."""
        return CellIds(self)

    @cached_property
    def _lookups(self) -> tuple[dict[str, int], ...]:
        """Each part of a cell id before its seed -> its index on its axis, and each seed's."""
        parts = [self._case_labels(), self.personas, self._bias_labels(), self.doctors]
        parts.append(str(seed) for seed in self.seeds)
        return tuple({value: i for i, value in enumerate(part)} for part in parts)

    def position(self, cell: str) -> int | None:
        """Where the cell with this id is in the grid; None when it is not a cell of it."""
        parts = cell.rsplit("/", 4)
        if len(parts) != 5:
            return None
        seed, _, repeat_text = parts[4].rpartition(".")
        indices = []
        for lookup, part in zip(self._lookups, [*parts[:4], seed], strict=True):
            index = lookup.get(part)
            if index is None:
                return None
            indices.append(index)
        repeat = int(repeat_text) if repeat_text.isdecimal() else self.repeats
        if repeat >= self.repeats or str(repeat) != repeat_text:
            return None
        case, persona, bias, doctor, seed_index = indices
        personas, biases, doctors, seeds, repeats = self._radices
        rest = ((case * personas + persona) * biases + bias) * doctors + doctor
        return (rest * seeds + seed_index) * repeats + repeat


class CellIds(Collection[str]):
    """A grid's cell ids, never all held at once: what a run folder is checked against."""

    def __init__(self, grid: Grid) -> None:
        self.grid = grid

    def __len__(self) -> int:
        return len(self.grid)

    def __iter__(self) -> Iterator[str]:
        return self.grid.ids()

    def __contains__(self, cell: object) -> bool:
        return isinstance(cell, str) and self.grid.position(cell) is not None


class PendingJobs(Sequence[Job]):
    """The jobs of a grid at some positions (those a run has still to play), each built when
    asked for. While a job is being played, asking for it again gives that same object."""

    def __init__(self, grid: Grid, positions: Sequence[int] | None = None) -> None:
        self.grid = grid
        self.positions: Sequence[int] = range(len(grid)) if positions is None else positions
        self._live: weakref.WeakValueDictionary[int, Job] = weakref.WeakValueDictionary()

    def __reduce__(self) -> tuple[Any, ...]:
        return PendingJobs, (self.grid, self.positions)

    def __len__(self) -> int:
        return len(self.positions)

    @overload
    def __getitem__(self, index: int) -> Job: ...
    @overload
    def __getitem__(self, index: slice) -> list[Job]: ...
    def __getitem__(self, index: int | slice) -> Job | list[Job]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        position = self.positions[index]
        job = self._live.get(position)
        if job is None:
            job = self._live[position] = self.grid[position]
        return job

    def __iter__(self) -> Iterator[Job]:
        return (self[index] for index in range(len(self)))
