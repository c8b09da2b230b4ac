"""Code columns as polars Enums built from the contract's code lists (seeds/ssd_code_lists.csv).

Coded values are simulated as small integer indices and turned into Enum columns only when a
table is assembled: the CSV writer then prints the code text, and memory stays one byte a value.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import numpy as np
import polars as pl

from dagster_project.contract import code_lists
from dagster_project.extracts.generator.randomness import pick

FLAG_VALUES = ("Y", "N")


@cache
def _lookup(values: tuple[str, ...]) -> pl.Series:
    return pl.Series(values, dtype=pl.Enum(list(values)))


def enum_column(values: Sequence[str], index: np.ndarray) -> pl.Series:
    """Enum column with ``values[index]``; a negative index is NULL."""
    index = np.asarray(index, dtype=np.int64)
    positions = pl.Series(index).set(pl.Series(index < 0), None) if (index < 0).any() else pl.Series(index)
    return _lookup(tuple(values)).gather(positions)


def contract_codes(list_name: str) -> tuple[str, ...]:
    """The codes of one contract code list, in seed order."""
    return code_lists()[list_name]


def code_index(list_name: str, codes: Sequence[str]) -> np.ndarray:
    """Indices of ``codes`` in the contract list (raises on an unknown code)."""
    listed = contract_codes(list_name)
    return np.array([listed.index(c) for c in codes], dtype=np.int64)


def code_column(list_name: str, index: np.ndarray) -> pl.Series:
    """Enum column of a contract code list from indices into that list (negative -> NULL)."""
    return enum_column(contract_codes(list_name), index)


def choose_codes(rng: np.random.Generator, list_name: str, weighted: dict[str, float], n: int) -> np.ndarray:
    """``n`` indices into a contract code list drawn with the given weights per code."""
    codes = code_index(list_name, list(weighted))
    return codes[pick(rng, list(weighted.values()), n)]


def flag_column(yes: np.ndarray, present: np.ndarray | None = None) -> pl.Series:
    """Y/N column (NULL where ``present`` is False)."""
    index = np.where(np.asarray(yes, dtype=bool), 0, 1)
    if present is not None:
        index = np.where(present, index, -1)
    return enum_column(FLAG_VALUES, index)
