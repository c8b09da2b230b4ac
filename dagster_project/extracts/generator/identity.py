"""Synthetic identifying values: names, UPNs and postcodes.

They exist so that the warehouse's privacy checks have something to catch. Names are drawn from
short lists of invented names; UPNs have the right shape (a letter and 12 digits) but are random;
postcodes look like Bradford (BD) and neighbouring districts' postcodes but are made up.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import polars as pl

from dagster_project.extracts.generator.codes import enum_column

FORENAMES_F = (
    "Quenby",
    "Talvia",
    "Orlena",
    "Brisa",
    "Fennaly",
    "Ysolde",
    "Callowen",
    "Mireth",
    "Zoëlle",
    "Avelith",
    "Sorrel",
    "Wrenna",
    "Idrisa",
    "Lumelle",
    "Paisla",
    "Tamsyn-Jo",
)
FORENAMES_M = (
    "Tarquil",
    "Brannoch",
    "Oskarr",
    "Fennick",
    "Jorvan",
    "Kestrin",
    "Marlow-Jay",
    "Thorley",
    "Albrec",
    "Caspin",
    "Dremmel",
    "Elwick",
    "Hollis-Ray",
    "Ormund",
    "Pellam",
    "Rufin",
)
SURNAMES = (
    "Synthwell",
    "Madeupson",
    "Fictory",
    "Placeholm",
    "Sampleton",
    "Testbury",
    "Mockridge",
    "Dummersby",
    "Fauxley",
    "Pretendle",
    "O'Notreal",
    "Inventorr",
    "Shambrook-Lee",
    "Figmont",
    "Quillfeather",
    "Noakes-Fable",
    "Tryhorn",
    "Vexley",
)
INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
OUT_AREAS = ("LS", "HX", "HD", "WF", "M", "OL", "BB", "S", "YO", "HG", "DN", "L")
IN_AREA, OUT_OF_AREA = 4000, 2000  # postcode pool sizes
UPN_LETTERS = tuple("ABCDEFGHJKLMNPQRTUVWXYZ")


def _postcode(area: str, number: int) -> str:
    district = 1 + number % 22
    sector = (number // 22) % 10
    letters = (number // 220) % (len(INWARD_LETTERS) ** 2)
    first, second = divmod(letters, len(INWARD_LETTERS))
    return f"{area}{district} {sector}{INWARD_LETTERS[first]}{INWARD_LETTERS[second]}"


@cache
def postcode_pool() -> tuple[str, ...]:
    """IN_AREA made-up BD postcodes followed by OUT_OF_AREA from neighbouring areas."""
    inside = [_postcode("BD", i * 7 + 3) for i in range(IN_AREA)]
    outside = [_postcode(OUT_AREAS[i % len(OUT_AREAS)], i * 13 + 5) for i in range(OUT_OF_AREA)]
    pool = tuple(dict.fromkeys(inside + outside))
    assert len(pool) == IN_AREA + OUT_OF_AREA
    return pool


def postcode_column(index: pl.Series) -> pl.Series:
    pool = postcode_pool()
    values = index.to_numpy()
    missing = index.is_null().to_numpy()
    return enum_column(pool, np.where(missing, -1, np.nan_to_num(values, nan=-1)).astype(np.int64))


def name_columns(rng: np.random.Generator, female: np.ndarray) -> tuple[pl.Series, pl.Series]:
    """Forename (by sex) and surname columns."""
    n = len(female)
    forenames = FORENAMES_F + FORENAMES_M
    fore = np.where(
        female, rng.integers(0, len(FORENAMES_F), n), len(FORENAMES_F) + rng.integers(0, len(FORENAMES_M), n)
    )
    return enum_column(forenames, fore), enum_column(SURNAMES, rng.integers(0, len(SURNAMES), n))


def upn_column(rng: np.random.Generator, n: int, share: float = 0.85) -> pl.Series:
    """A letter and 12 digits for most children (NULL for the rest)."""
    letter = enum_column(UPN_LETTERS, rng.integers(0, len(UPN_LETTERS), n)).cast(pl.String)
    digits = pl.Series(rng.integers(0, 10**12, n)).cast(pl.String).str.zfill(12)
    upn = letter + digits
    return upn.set(pl.Series(rng.random(n) >= share), None)
