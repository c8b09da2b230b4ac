"""The person register: every simulated child, numbered by first appearance, with the identifying
extras the real SSD carries (synthetic names, UPN) and, for the few children whose duplicate
records are later merged away (decided at the front door), the day their rows vanish."""

from __future__ import annotations

import numpy as np
import polars as pl

from dagster_project.extracts.generator.codes import choose_codes, code_column, code_index
from dagster_project.extracts.generator.identity import name_columns, upn_column
from dagster_project.extracts.generator.randomness import Streams
from dagster_project.extracts.generator.tables import ID_BASE, NO_DAY, assign_ids, date_column

SEX = {"M": 0.51, "F": 0.485, "U": 0.005}
ETHNICITY = {
    "WBRI": 0.44,
    "APKN": 0.26,
    "ABAN": 0.03,
    "AIND": 0.02,
    "AOTH": 0.02,
    "MWAS": 0.03,
    "MWBC": 0.02,
    "MWBA": 0.005,
    "MOTH": 0.02,
    "WIRI": 0.003,
    "WIRT": 0.005,
    "WROM": 0.02,
    "WOTH": 0.04,
    "BCRB": 0.005,
    "BAFR": 0.01,
    "BOTH": 0.005,
    "CHNE": 0.002,
    "OOTH": 0.02,
    "REFU": 0.005,
    "NOBT": 0.03,
}


def build_persons(streams: Streams, children: pl.DataFrame, deaths: pl.DataFrame) -> tuple[pl.DataFrame, np.ndarray]:
    """Persons table (internal columns ``_birth``, ``_removed``) and the person-index -> id map.

    ``children``: _person, dob, first_seen, removed (day merged away, or NO_DAY); ``deaths``: _person, day."""
    rng = streams.rng("people")
    children = assign_ids(children, "id", ("first_seen", "_person"), ID_BASE["ssd_person"])
    n = children.height
    id_of = np.full(int(children["_person"].max()) + 1 if n else 0, -1, dtype=np.int64)
    id_of[children["_person"].to_numpy()] = children["id"].to_numpy()
    dob, seen = children["dob"].to_numpy(), children["first_seen"].to_numpy()
    unborn = dob > seen
    death = np.full(n, NO_DAY, dtype=np.int64)
    if deaths.height:
        death_of = np.full(len(id_of), NO_DAY, dtype=np.int64)
        death_of[deaths["_person"].to_numpy()] = deaths["day"].to_numpy()
        death = death_of[children["_person"].to_numpy()]
    sex = choose_codes(rng, "sex", SEX, n)
    forename, surname = name_columns(rng, sex == code_index("sex", ["F"])[0])
    persons = pl.DataFrame(
        {
            "pers_person_id": children["id"],
            "pers_sex": code_column("sex", sex),
            "pers_ethnicity": code_column("ethnicity", choose_codes(rng, "ethnicity", ETHNICITY, n)),
            "pers_expected_dob": date_column(np.where(unborn, dob + rng.integers(-14, 15, n), NO_DAY)),
            "pers_death_date": date_column(death),
            "pers_forename": forename,
            "pers_surname": surname,
            "pers_upn": upn_column(rng, n),
            "_birth": date_column(dob),
            "_removed": date_column(children["removed"].to_numpy()),
        }
    )
    return persons.sort("pers_person_id"), id_of
