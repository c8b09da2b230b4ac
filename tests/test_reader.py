"""Format rules of the extract contract, on tiny fixture files (dagster_project/extracts/reader.py)."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from dagster_project.contract import TABLES_BY_NAME
from dagster_project.extracts import structure
from dagster_project.extracts.manifest import (
    VERIFIED_CHECKSUM,
    VERIFIED_NO_MANIFEST,
    VERIFIED_NOTHING_LISTED,
    VERIFIED_NOTHING_NOT_LISTED,
    VERIFIED_ROWS,
    VERIFIED_ROWS_AND_CHECKSUM,
    FileEntry,
    ManifestError,
    file_sha256,
    read_manifest,
    without_manifest,
)
from dagster_project.extracts.reader import (
    ExtractRejected,
    TableFile,
    bad_column,
    iter_batches,
    open_table_file,
    read_ahead,
    read_table,
)
from dagster_project.extracts.structure import scan_file

FIXTURES = Path(__file__).parent / "fixtures" / "ingest" / "format"
JULY = date(2023, 7, 1)

MISSING_HEADER = (
    "miss_table_id,miss_person_id,miss_missing_episode_start_date,miss_missing_episode_type,"
    "miss_missing_episode_end_date,miss_missing_rhi_offered,miss_missing_rhi_accepted"
)


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def open_file(path: Path, table: str | None = None) -> TableFile:
    return open_table_file(TABLES_BY_NAME[table or path.stem], path, JULY)


def missing_file(tmp_path: Path, *rows: str, header: str = MISSING_HEADER) -> TableFile:
    return open_file(write(tmp_path, "ssd_missing.csv", "\n".join([header, *rows]) + "\n"))


def column(df: pl.DataFrame, name: str) -> list[object]:
    return df.get_column(name).to_list()


# --- headers and extra columns ---------------------------------------------------------------


def test_headers_are_matched_case_insensitively_and_trimmed() -> None:
    tf = open_file(FIXTURES / "ssd_contacts.csv")
    assert tf.header[:3] == ("cont_contact_id", "cont_person_id", "cont_contact_date")
    df = read_table(tf)
    assert column(df, "cont_contact_id") == ["0001", "0002", "0003"]


def test_extra_columns_are_kept_as_json_and_optional_columns_absent_are_null() -> None:
    tf = open_file(FIXTURES / "ssd_contacts.csv")
    assert tf.extra_columns == ("pers_forename",)
    assert tf.missing_optional_columns == ("cont_contact_decision_date",)
    df = read_table(tf)
    extras = [json.loads(v) for v in column(df, "_extra_columns")]
    assert extras == [{"pers_forename": 'Ann, "Annie"'}, {"pers_forename": "Bob"}, {"pers_forename": None}]
    assert column(df, "cont_contact_decision_date") == [None, None, None]
    assert df.schema["cont_contact_decision_date"] == pl.Date


def test_no_extra_columns_gives_null_extra_json(tmp_path: Path) -> None:
    df = read_table(missing_file(tmp_path, "M1,P1,2023-07-01,M,,,"))
    assert column(df, "_extra_columns") == [None]


def test_duplicate_header_after_normalising_rejects_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "ssd_missing.csv", MISSING_HEADER + ", MISS_TABLE_ID\nM1,P1,2023-07-01,M,,,,M1\n")
    with pytest.raises(ExtractRejected, match="column miss_table_id appears more than once"):
        open_file(path)


def test_missing_required_column_rejects_the_file_with_its_name(tmp_path: Path) -> None:
    header = MISSING_HEADER.replace(",miss_missing_episode_type", "")
    path = write(tmp_path, "ssd_missing.csv", header + "\nM1,P1,2023-07-01,,,\n")
    with pytest.raises(ExtractRejected) as info:
        open_file(path)
    assert str(info.value) == "2023-07/ssd_missing.csv: required column miss_missing_episode_type is missing"
    assert (info.value.file, info.value.month) == ("ssd_missing.csv", JULY)


def test_a_renamed_required_column_is_named_beside_the_missing_one(tmp_path: Path) -> None:
    header = MISSING_HEADER.replace("miss_missing_episode_type", "episode_type")
    path = write(tmp_path, "ssd_missing.csv", header + "\nM1,P1,2023-07-01,M,,,\n")
    with pytest.raises(ExtractRejected) as info:
        open_file(path)
    assert info.value.reason == ("required column miss_missing_episode_type is missing (the header has "
                                 "episode_type, which the contract does not list: renamed?)")


# --- encoding and RFC 4180 ---------------------------------------------------------------------


def test_utf8_with_and_without_bom_read_the_same(tmp_path: Path) -> None:
    text = MISSING_HEADER + "\nM1,P1,2023-07-01,M,,,\n"
    (tmp_path / "bom").mkdir()
    (tmp_path / "plain").mkdir()
    with_bom = read_table(
        open_file(write(tmp_path / "bom", "ssd_missing.csv", b"\xef\xbb\xbf" + text.encode()))
    )
    without = read_table(open_file(write(tmp_path / "plain", "ssd_missing.csv", text)))
    assert with_bom.equals(without)
    assert column(with_bom, "miss_table_id") == ["M1"]


def test_quoted_fields_with_commas_quotes_and_line_breaks() -> None:
    df = read_table(open_file(FIXTURES / "ssd_contacts.csv"))
    assert df.height == 3
    assert column(df, "_row_number") == [1, 2, 3]  # records, not lines
    first, second, third = column(df, "cont_contact_outcome_json")
    assert json.loads(first)["COMMENTS"] == 'police, then "school" called'
    assert json.loads(second) == {
        "NEW_REFERRAL_FLAG": "N",
        "NFA_FLAG": "Yes",
        "COMMENTS": "line one, line two",
    }
    assert third == "{not json"  # passed through: JSON is checked as it is staged (test_ingest.py)


def test_crlf_line_endings_and_blank_lines(tmp_path: Path) -> None:
    text = MISSING_HEADER + "\r\nM1,P1,2023-07-01,M,,,\r\n\r\nM2,P1,2023-07-09,A,,,\r\n\r\n"
    df = read_table(open_file(write(tmp_path, "ssd_missing.csv", text)))
    assert column(df, "miss_table_id") == ["M1", "M2"]
    assert column(df, "_row_number") == [1, 2]
    assert column(df, "miss_missing_rhi_accepted") == [None, None]


@pytest.mark.parametrize("eol", ["\n", "\r\n"], ids=["LF", "CRLF"])
@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"], ids=["no-BOM", "BOM"])
@pytest.mark.parametrize("final_eol", [True, False], ids=["final-newline", "no-final-newline"])
def test_bom_odd_header_and_line_endings_together(tmp_path: Path, eol: str, bom: bytes, final_eol: bool) -> None:
    """What another system's export looks like: BOM, quoted header names in any case with spaces
    around them, CRLF or LF, with or without a newline after the last record."""
    header = (
        '"  MISS_Table_ID  ", Miss_Person_Id ,MISS_MISSING_EPISODE_START_DATE,"miss_missing_episode_type ",'
        "Miss_Missing_Episode_End_Date,\tmiss_missing_rhi_offered,MISS_MISSING_RHI_ACCEPTED  , Local_Note "
    )
    records = [
        "M1,P1,4/7/2023,missing,,y,n,first",
        '"M2","P1","2023-07-05 00:00:00.0000000","ABSENT","",NA,,"a, ""quoted"" note"',
        "M3,P1,2023-07-06,Away,07/07/2023,Y,N,",
    ]
    text = eol.join([header, *records]) + (eol if final_eol else "")
    tf = open_file(write(tmp_path, "ssd_missing.csv", bom + text.encode()))
    assert tf.header == (*MISSING_HEADER.split(","), "local_note")
    df = read_table(tf)
    assert column(df, "miss_table_id") == ["M1", "M2", "M3"]
    assert column(df, "miss_missing_episode_start_date") == [date(2023, 7, 4), date(2023, 7, 5), date(2023, 7, 6)]
    assert column(df, "miss_missing_episode_end_date") == [None, None, date(2023, 7, 7)]
    assert column(df, "miss_missing_episode_type") == ["M", "A", "A"]
    assert column(df, "miss_missing_rhi_offered") == ["Y", "NA", "Y"]
    assert column(df, "miss_missing_rhi_accepted") == ["N", None, "N"]  # no stray "\r" on the last field
    assert [json.loads(v)["local_note"] for v in column(df, "_extra_columns")] == [
        "first",
        'a, "quoted" note',
        None,
    ]
    assert column(df, "_row_number") == [1, 2, 3]
    assert all(column(df, bad_column("miss_missing_episode_start_date"))[i] is None for i in range(3))


def test_crlf_inside_a_quoted_field_is_kept(tmp_path: Path) -> None:
    header = "cont_contact_id,cont_person_id,cont_contact_date,cont_contact_source_code,cont_contact_outcome_json"
    records = ['C1,P1,2023-07-01,6,"{""NFA_FLAG"": ""yes"",\r\n""COMMENTS"": ""a, b""}"', "C2,P1,2023-07-02,6,{}"]
    text = "\r\n".join([header, *records]) + "\r\n"
    df = read_table(open_file(write(tmp_path, "ssd_contacts.csv", text)))
    assert column(df, "cont_contact_id") == ["C1", "C2"]
    assert json.loads(column(df, "cont_contact_outcome_json")[0]) == {"NFA_FLAG": "yes", "COMMENTS": "a, b"}
    assert column(df, "_row_number") == [1, 2]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "file is empty"),
        (MISSING_HEADER.encode() + b"\nM1,P1,2023-07-01,M,,,\nM2,P\xe9,2023-07-01,M,,,\n",
         r"line 3 is not valid UTF-8 \(invalid continuation byte at byte 5 of the line, byte \d+ of the file\)"),
        (MISSING_HEADER.encode() + b"\nM1,P1,2023-07-01,M,,,,,extra\n", "cannot be read as a UTF-8 CSV"),
        (MISSING_HEADER.encode() + b'\nM1,"P1,2023-07-01,M,,,\n', "cannot be read as a UTF-8 CSV"),
    ],
    ids=["empty", "latin-1", "more-fields-than-header", "unterminated-quote"],
)
def test_unreadable_files_are_rejected(tmp_path: Path, content: bytes, reason: str) -> None:
    path = write(tmp_path, "ssd_missing.csv", content)
    with pytest.raises(ExtractRejected, match=reason) as info:
        read_table(open_file(path))
    assert str(info.value).startswith("2023-07/ssd_missing.csv: ")


def test_undecodable_bytes_beyond_the_first_block_reject_the_file(tmp_path: Path) -> None:
    rows = [f"M{i},P1,2023-07-01,M,,," for i in range(5000)] + ["M9,P\xe9,2023-07-01,M,,,"]
    content = (MISSING_HEADER + "\n" + "\n".join(rows) + "\n").encode("latin-1")
    tf = open_file(write(tmp_path, "ssd_missing.csv", content))  # header block decodes fine
    with pytest.raises(ExtractRejected, match="cannot be read as a UTF-8 CSV.*utf-8"):
        read_table(tf)


# --- values ------------------------------------------------------------------------------------


def test_dates_in_all_four_forms_empty_and_placeholder(tmp_path: Path) -> None:
    starts = [
        "2023-07-01",
        "2023-07-02 10:11:12",
        "2023-07-03 10:11:12.123",
        "04/07/2023",
        "",
        "1900-01-01",
        "1900-01-01 00:00:00.000",
        " 05/07/2023 ",
    ]
    tf = missing_file(tmp_path, *(f"M{i},P1,{s},M,,," for i, s in enumerate(starts)))
    df = read_table(tf)
    assert column(df, "miss_missing_episode_start_date") == [
        date(2023, 7, 1),
        date(2023, 7, 2),
        date(2023, 7, 3),
        date(2023, 7, 4),
        None,
        None,
        None,
        date(2023, 7, 5),
    ]
    assert column(df, bad_column("miss_missing_episode_start_date")) == [None] * len(starts)


@pytest.mark.parametrize(
    "text",
    [
        "1900-01-01",
        "1900-01-01 00:00:00",
        "1900-01-01 00:00:00.000",
        "1900-01-01 00:00:00.0000000",
        "01/01/1900",
        "1/1/1900",
        " 1900-01-01 ",
    ],
)
@pytest.mark.parametrize(
    ("table", "date_column"),
    [
        ("ssd_cin_assessments", "cina_assessment_auth_date"),  # SystemC's placeholder (contract)
        ("ssd_person", "pers_dob"),  # a birth date
        ("ssd_cp_reviews", "cppr_cp_review_due"),  # a due date
    ],
)
def test_the_1900_placeholder_is_null_in_every_form_and_date_kind(
    tmp_path: Path, table: str, date_column: str, text: str
) -> None:
    columns = [c.name for c in TABLES_BY_NAME[table].columns if not c.optional]
    row = ["X1" if i == 0 else (text if name == date_column else "") for i, name in enumerate(columns)]
    content = ",".join(columns) + "\n" + ",".join(row) + "\n"
    df = read_table(open_file(write(tmp_path, f"{table}.csv", content)))
    assert column(df, date_column) == [None]
    assert column(df, bad_column(date_column)) == [None]  # NULL, not a format failure


def test_single_digit_day_and_month_and_sql_server_fractions(tmp_path: Path) -> None:
    starts = ["4/7/2023", "04/7/2023", "4/07/2023", "2023-07-04 23:59:59.9999999", "2023-07-04 00:00:00.1"]
    df = read_table(missing_file(tmp_path, *(f"M{i},P1,{s},M,,," for i, s in enumerate(starts))))
    assert column(df, "miss_missing_episode_start_date") == [date(2023, 7, 4)] * len(starts)


@pytest.mark.parametrize(
    "text",
    [
        "31/02/2023",
        "2023-02-30",
        "01/07/23",
        "2023-07-01T10:00:00",
        "2023-7-1",
        "2023-07-01 25:00:00",
        "yesterday",
        "20230701",
        "2023-07-01 10:00",
    ],
)
def test_unreadable_dates_keep_their_text(tmp_path: Path, text: str) -> None:
    df = read_table(missing_file(tmp_path, f"M1,P1,{text},M,,,"))
    assert column(df, "miss_missing_episode_start_date") == [None]
    assert column(df, bad_column("miss_missing_episode_start_date")) == [text]


def test_flags_in_every_spelling(tmp_path: Path) -> None:
    header = (
        "clar_cla_review_id,clar_cla_id,clar_cla_person_id,clar_cla_review_due_date,clar_cla_review_date,"
        "clar_cla_review_cancelled"
    )
    spellings = ["Y", "n", "Yes", "NO", "true", "False", "1", "0", "", " y ", "maybe", "2"]
    rows = [f"R{i},CLA1,P1,,,{s}" for i, s in enumerate(spellings)]
    df = read_table(open_file(write(tmp_path, "ssd_cla_reviews.csv", "\n".join([header, *rows]) + "\n")))
    assert column(df, "clar_cla_review_cancelled") == [
        True,
        False,
        True,
        False,
        True,
        False,
        True,
        False,
        None,
        True,
        None,
        None,
    ]
    assert column(df, bad_column("clar_cla_review_cancelled")) == [None] * 10 + ["maybe", "2"]


@pytest.mark.parametrize(
    ("spelling", "value"),
    [
        *[(s, True) for s in ("y", "Y", "yes", "Yes", "YES", "yEs", "true", "True", "TRUE", "tRuE", "1")],
        *[(s, False) for s in ("n", "N", "no", "No", "NO", "nO", "false", "False", "FALSE", "fAlSe", "0")],
    ],
)
def test_flag_spellings_in_any_case(tmp_path: Path, spelling: str, value: bool) -> None:
    header = (
        "icpc_icpc_id,icpc_s47_enquiry_id,icpc_referral_id,icpc_person_id,icpc_icpc_transfer_in,"
        "icpc_icpc_target_date,icpc_icpc_date,icpc_icpc_outcome_cp_flag"
    )
    path = write(tmp_path, "ssd_initial_cp_conference.csv", f"{header}\r\nI1,S1,R1,P1,{spelling},,,{spelling}\r\n")
    row = read_table(open_file(path)).row(0, named=True)
    assert (row["icpc_icpc_transfer_in"], row["icpc_icpc_outcome_cp_flag"]) == (value, value)


def test_ids_stay_text_with_leading_zeros() -> None:
    df = read_table(open_file(FIXTURES / "ssd_contacts.csv"))
    assert df.schema["cont_person_id"] == pl.String
    assert column(df, "cont_person_id") == ["000123", "1e5", "007"]


def test_codes_are_trimmed_matched_case_insensitively_and_stored_canonical() -> None:
    df = read_table(open_file(FIXTURES / "ssd_contacts.csv"))
    assert column(df, "cont_contact_source_code") == ["6", "1A", "5D"]


def test_description_mappings_and_unknown_codes(tmp_path: Path) -> None:
    types = ["Missing", " absent ", "AWAY", "m", "a", "Lost", ""]
    df = read_table(missing_file(tmp_path, *(f"M{i},P1,2023-07-01,{t},,na,Y" for i, t in enumerate(types))))
    assert column(df, "miss_missing_episode_type") == ["M", "A", "A", "M", "A", "Lost", None]
    assert column(df, "miss_missing_rhi_offered") == ["NA"] * len(types)


def test_multi_word_codes_are_canonical(tmp_path: Path) -> None:
    header = (
        "clea_table_id,clea_person_id,clea_care_leaver_eligibility,clea_care_leaver_in_touch,"
        "clea_care_leaver_latest_contact,clea_care_leaver_accommodation,clea_care_leaver_accom_suitable,"
        "clea_care_leaver_activity"
    )
    path = write(tmp_path, "ssd_care_leavers.csv", f"{header}\nCL1,P1,former relevant,yes,,b,Y,f1\n")
    row = read_table(open_file(path)).row(0, named=True)
    assert (row["clea_care_leaver_eligibility"], row["clea_care_leaver_in_touch"]) == (
        "Former Relevant",
        "YES",
    )
    assert (row["clea_care_leaver_accommodation"], row["clea_care_leaver_activity"]) == ("B", "F1")


def test_numbers(tmp_path: Path) -> None:
    header = (
        "clap_cla_placement_id,clap_cla_id,clap_person_id,clap_cla_placement_start_date,clap_cla_placement_type,"
        "clap_cla_placement_provider,clap_cla_placement_urn,clap_cla_placement_postcode,"
        "clap_cla_placement_distance,clap_cla_placement_end_date,clap_cla_placement_change_reason"
    )
    distances = ["3.5", " 12 ", "0", "", "far", "1,5", "inf", "NaN"]
    rows = [f"PL{i},CLA1,P1,2023-07-01,U1,PR1,,,{d},," for i, d in enumerate(distances)]
    rows = [r.replace("1,5,", '"1,5",') for r in rows]
    df = read_table(open_file(write(tmp_path, "ssd_cla_placement.csv", "\n".join([header, *rows]) + "\n")))
    assert column(df, "clap_cla_placement_distance") == [3.5, 12.0, 0.0, None, None, None, None, None]
    assert column(df, bad_column("clap_cla_placement_distance")) == [
        None,
        None,
        None,
        None,
        "far",
        "1,5",
        "inf",
        "NaN",
    ]


def test_batches_keep_file_order_and_row_numbers(tmp_path: Path) -> None:
    tf = missing_file(tmp_path, *(f"M{i},P1,2023-07-01,M,,," for i in range(10)))
    batches = list(iter_batches(tf, batch_rows=3))
    rows = pl.concat(batches)
    assert column(rows, "_row_number") == list(range(1, 11))
    assert column(rows, "miss_table_id") == [f"M{i}" for i in range(10)]


def test_read_ahead_keeps_order_and_stops_the_producer_when_the_consumer_stops(tmp_path: Path) -> None:
    tf = missing_file(tmp_path, *(f"M{i},P1,2023-07-01,M,,," for i in range(10)))
    rows = pl.concat(read_ahead(iter_batches(tf, batch_rows=3), depth=1))
    assert column(rows, "_row_number") == list(range(1, 11))

    produced: list[int] = []

    def numbers():
        for i in range(1000):
            produced.append(i)
            yield i

    ahead = read_ahead(numbers(), depth=2)
    assert [next(ahead), next(ahead)] == [0, 1]
    ahead.close()  # the consumer stops early: the producer thread is stopped and joined
    assert len(produced) <= 6


def test_read_ahead_raises_the_producers_error_in_the_consumer(tmp_path: Path) -> None:
    tf = missing_file(tmp_path, *(["M1,P1,2023-07-01,M,,,"] * 5), "M9,P1,2023-07-01,M,,,,extra")
    with pytest.raises(ExtractRejected, match="cannot be read as a UTF-8 CSV file"):
        list(read_ahead(iter_batches(tf, batch_rows=2)))


def test_header_only_file_has_no_rows(tmp_path: Path) -> None:
    df = read_table(missing_file(tmp_path))
    assert df.height == 0
    assert "miss_table_id" in df.columns


# --- manifest ----------------------------------------------------------------------------------


def manifest(tmp_path: Path, **fields: object) -> Path:
    doc = {
        "la_code": "380",
        "period_end": "2023-07-31",
        "extract_date": "2023-08-03",
        "ssd_version": "1.4.5",
        "source_system": "systemc",
        "files": {},
    } | fields
    return write(tmp_path, "manifest.json", json.dumps(doc))


def test_manifest_is_parsed(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "ssd_contacts.csv", tmp_path / "ssd_contacts.csv")
    sha = file_sha256(tmp_path / "ssd_contacts.csv")
    m = read_manifest(
        manifest(tmp_path, files={"ssd_contacts.csv": {"rows": 3, "sha256": sha.upper()}}), JULY
    )
    assert (m.la_code, m.period_end, m.extract_date, m.source_system) == (
        "380",
        date(2023, 7, 31),
        date(2023, 8, 3),
        "systemc",
    )
    entry = m.entry("SSD_CONTACTS.csv")
    assert entry is not None and entry.rows == 3 and entry.sha256 == sha


def test_manifest_of_another_council_is_refused(tmp_path: Path) -> None:
    """In a region's layout the folder names the council: a manifest naming another is refused."""
    path = manifest(tmp_path)
    assert read_manifest(path, JULY, council="380").la_code == "380"
    with pytest.raises(ManifestError, match=r"la_code '380' is not the council whose folder holds it \(381\)"):
        read_manifest(path, JULY, council="381")
    assert read_manifest(manifest(tmp_path, la_code=None), JULY, council="381").la_code is None


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"period_end": "2023-07-30"}, "period_end 2023-07-30 is not the last day"),
        (
            {"period_end": "2023-06-30", "extract_date": "2023-07-03"},
            "period_end 2023-06-30 is not the last day",
        ),
        ({"extract_date": "2023-07-30"}, "extract_date 2023-07-30 is before period_end 2023-07-31"),
        ({"extract_date": 20230803}, "'extract_date' is not a 'YYYY-MM-DD' string: 20230803"),
        ({"period_end": "31/07/2023"}, "'period_end' is not a date"),
        ({"files": []}, "'files' is not an object"),
        ({"files": {"ssd_person.csv": [10]}}, r"files\['ssd_person.csv'\] is not an object"),
        (
            {"files": {"ssd_person.csv": {"rows": "10", "sha256": "0" * 64}}},
            r"files\['ssd_person.csv'\].rows is not a non-negative integer: '10'",
        ),
        ({"files": {"ssd_person.csv": {"rows": -1}}}, r"files\['ssd_person.csv'\].rows is not a non-negative"),
        ({"files": {"ssd_person.csv": {"rows": 1.5}}}, r"files\['ssd_person.csv'\].rows is not a non-negative"),
        ({"files": {"ssd_person.csv": {"rows": True}}}, r"files\['ssd_person.csv'\].rows is not a non-negative"),
        (
            {"files": {"ssd_person.csv": {"rows": 10, "sha256": "abc"}}},
            r"files\['ssd_person.csv'\].sha256 is not a 64-digit hex SHA-256: 'abc'",
        ),
        (
            {"files": {"ssd_person.csv": {"sha256": "g" * 64}}},
            r"files\['ssd_person.csv'\].sha256 is not a 64-digit hex",
        ),
        ({"files": {"ssd_person.csv": {"sha256": 123}}}, r"files\['ssd_person.csv'\].sha256 is not a 64-digit"),
    ],
)
def test_bad_manifests(tmp_path: Path, fields: dict[str, object], reason: str) -> None:
    """A value that is given but malformed is an error naming the file and the field."""
    with pytest.raises(ManifestError, match=reason):
        read_manifest(manifest(tmp_path, **fields), JULY)


SHA = "ab" * 32


@pytest.mark.parametrize(
    ("entry", "expected", "verified"),
    [
        ({"rows": 3, "sha256": SHA.upper()}, FileEntry(rows=3, sha256=SHA), VERIFIED_ROWS_AND_CHECKSUM),
        ({"rows": 3}, FileEntry(rows=3), VERIFIED_ROWS),
        ({"rows": 0, "sha256": None}, FileEntry(rows=0), VERIFIED_ROWS),
        ({"sha256": f" {SHA} "}, FileEntry(sha256=SHA), VERIFIED_CHECKSUM),
        ({"rows": None, "sha256": SHA}, FileEntry(sha256=SHA), VERIFIED_CHECKSUM),
        ({}, FileEntry(), VERIFIED_NOTHING_LISTED),
        (None, FileEntry(), VERIFIED_NOTHING_LISTED),
        ({"rows": None, "sha256": ""}, FileEntry(), VERIFIED_NOTHING_LISTED),
        ({"bytes": 1234}, FileEntry(), VERIFIED_NOTHING_LISTED),  # other keys are ignored
    ],
    ids=["both", "rows", "rows-sha-null", "sha256", "sha256-rows-null", "neither", "null", "empty", "other-keys"],
)
def test_a_file_entry_may_give_rows_sha256_both_or_neither(
    tmp_path: Path, entry: object, expected: FileEntry, verified: str
) -> None:
    m = read_manifest(manifest(tmp_path, files={"ssd_person.csv": entry}), JULY)
    assert m.entry("ssd_person.csv") == expected
    assert m.verified("SSD_PERSON.CSV") == verified
    assert m.verified("ssd_contacts.csv") == VERIFIED_NOTHING_NOT_LISTED


@pytest.mark.parametrize("files", [None, {}], ids=["null", "empty"])
def test_a_manifest_without_files_lists_none(tmp_path: Path, files: object) -> None:
    m = read_manifest(manifest(tmp_path, files=files), JULY)
    assert m.files == {} and m.has_manifest
    assert m.verified("ssd_person.csv") == VERIFIED_NOTHING_NOT_LISTED


def test_every_key_of_a_manifest_may_be_missing(tmp_path: Path) -> None:
    m = read_manifest(write(tmp_path, "manifest.json", "{}"), JULY, today=date(2023, 8, 9))
    assert m.has_manifest and m.files == {}
    assert (m.la_code, m.ssd_version, m.source_system) == (None, None, None)
    assert m.period_end == date(2023, 7, 31)  # the folder's month end
    # the rule "future" compares with the load date, but no extract date is recorded as the
    # manifest's (freshness must not read the load date as the date the extract was taken)
    assert m.extract_date == date(2023, 8, 9) and not m.extract_date_given
    assert m.recorded_extract_date is None
    assert m.to_metadata()["extract_date"] is None
    nulls = {k: None for k in ("la_code", "period_end", "extract_date", "ssd_version", "source_system", "files")}
    assert read_manifest(write(tmp_path, "manifest.json", json.dumps(nulls)), JULY, today=date(2023, 8, 9)) == m


def test_without_extract_date_the_period_is_still_checked(tmp_path: Path) -> None:
    path = write(tmp_path, "manifest.json", json.dumps({"period_end": "2023-06-30"}))
    with pytest.raises(ManifestError, match="period_end 2023-06-30 is not the last day"):
        read_manifest(path, JULY, today=date(2023, 8, 9))
    # a load before the month end is no claim of the manifest: not checked against period_end
    early = read_manifest(write(tmp_path, "manifest.json", "{}"), JULY, today=date(2023, 7, 20))
    assert early.extract_date == date(2023, 7, 20)


def test_no_manifest_verifies_nothing() -> None:
    m = without_manifest(JULY, date(2023, 8, 9))
    assert not m.has_manifest and m.recorded_extract_date == date(2023, 8, 9)
    assert m.verified("ssd_person.csv") == VERIFIED_NO_MANIFEST


def test_manifest_that_is_not_json(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="cannot be read as JSON"):
        read_manifest(write(tmp_path, "manifest.json", '{"period_end": "2023-07-31",'), JULY)


# --- lines, and what the structure pass rejects (more in tests/test_malformed_corpus.py) ---------


def test_records_know_the_line_they_start_on(tmp_path: Path) -> None:
    """Line numbers count the file's lines (header = 1): blank lines and line breaks inside quoted
    fields move them away from the data-row numbers."""
    header = "cont_contact_id,cont_person_id,cont_contact_date,cont_contact_source_code,cont_contact_outcome_json"
    records = [
        'C1,P1,2023-07-01,6,"{""NFA_FLAG"": ""Y"",\r\n""COMMENTS"": ""a\r\nb""}"',  # lines 2-4
        "",  # line 5, blank
        "C2,P1,2023-07-02,6,{}",  # line 6
        'C3,P1,2023-07-03,6,"{\r\n}"',  # lines 7-8
        "C4,P1,2023-07-04,6,{}",  # line 9
    ]
    text = b"\xef\xbb\xbf" + "\r\n".join([header, *records]).encode()
    df = read_table(open_file(write(tmp_path, "ssd_contacts.csv", text)))
    assert column(df, "cont_contact_id") == ["C1", "C2", "C3", "C4"]
    assert column(df, "_row_number") == [1, 2, 3, 4]
    assert column(df, "_line_number") == [2, 6, 7, 9]


def test_line_numbers_across_batches(tmp_path: Path) -> None:
    rows = [f'M{i},P1,2023-07-01,M,,,"{i}\nnote"' if i % 3 == 0 else f"M{i},P1,2023-07-01,M,,," for i in range(10)]
    header = MISSING_HEADER + ",local_note"
    rows = [r if r.count(",") == 7 else r + "," for r in rows]
    tf = open_file(write(tmp_path, "ssd_missing.csv", "\n".join([header, *rows]) + "\n"))
    lines = column(pl.concat(iter_batches(tf, batch_rows=3)), "_line_number")
    expected, line = [], 2
    for i in range(10):
        expected.append(line)
        line += 2 if i % 3 == 0 else 1
    assert lines == expected


@pytest.mark.parametrize("block", [1, 2, 3, 7, 64, 8 << 20])
def test_the_structure_pass_is_the_same_in_any_block_size(monkeypatch, block: int) -> None:
    """The pass reads the file in blocks: a CRLF, a quote, a BOM or a UTF-8 character split
    between two blocks changes nothing."""
    reference = {}
    corpus = sorted((Path(__file__).parent / "fixtures" / "malformed").glob("*.csv"))
    for path in [FIXTURES / "ssd_contacts.csv", *corpus]:
        reference[path.name] = scan_file(path)
    monkeypatch.setattr(structure, "CHUNK", block)
    for path in [FIXTURES / "ssd_contacts.csv", *corpus]:
        got, want = scan_file(path), reference[path.name]
        assert (str(got.error), got.sha256) == (str(want.error), want.sha256), path.name
        if want.error is None:
            assert (got.records, got.data_records, got.header_lines, got.header_bytes, got.line_ending) == (
                want.records, want.data_records, want.header_lines, want.header_bytes, want.line_ending)
            assert got.change_records.tolist() == want.change_records.tolist()
            assert got.change_offsets.tolist() == want.change_offsets.tolist()
    assert reference["ssd_contacts.csv"].sha256 == file_sha256(FIXTURES / "ssd_contacts.csv")


def _structure_fields(s: structure.FileStructure) -> tuple:
    return (s.sha256, s.header_fields, s.header_bytes, s.header_lines, s.records, s.data_records, s.line_ending,
            s.change_records.tolist(), s.change_offsets.tolist(), str(s.change_records.dtype),
            str(s.change_offsets.dtype), str(s.error), s.has_bom)  # fmt: skip


def _random_csv(rng) -> bytes:
    """A small CSV file, well formed or not: quotes, line breaks in quoted fields, CRs, BOMs,
    blank lines, short and long rows, non-ASCII text, invalid UTF-8."""
    header = rng.choice(["a,b,c", "a,b,c", "a,b,c", "a", "x,y", '"a",b', "a,b,c\r", "é,b"])
    end = rng.choice(["\n", "\r\n"])
    lines, garbage = [], rng.choice([0.4, 0.02])  # half the files are mostly well formed
    for _ in range(rng.randint(0, 6)):
        if rng.random() >= garbage:
            fields = []
            for _ in range(rng.choice([3] * 8 + [1, 2, 4]) if garbage > 0.1 else 3):
                if rng.random() < 0.3:
                    parts = ["x", ",", '""', "é"] + (["\n", "\r\n"] if rng.random() < garbage else [])
                    fields.append('"' + "".join(rng.choice(parts) for _ in range(rng.randint(0, 4))) + '"')
                else:
                    fields.append("".join(rng.choice(["x", "é", " "]) for _ in range(rng.randint(0, 3))))
            lines.append(",".join(fields))
        else:
            tokens = ["a", ",", '"', '""', "\r\n", "\n", "\r", "é", "\ufeff", "", " ", "\0"]
            lines.append("".join(rng.choice(tokens) for _ in range(rng.randint(0, 5))))
    data = (header + end + end.join(lines) + rng.choice([end, "", "\n", "\r\n"])).encode()
    if rng.random() < 0.1:
        data = structure.BOM + data
    if rng.random() < 0.05:
        data += b"\xe9"
    return data


@pytest.mark.parametrize("block", [1, 2, 3, 7, 64, 8 << 20])
def test_the_fast_structure_pass_finds_what_the_exact_pass_finds(monkeypatch, tmp_path: Path, block: int) -> None:
    """The fast path (one-line records matched by a regular expression) vouches only for files
    the exact pass finds no break in, with the same checksum, counts and line map; every other
    file goes to the exact pass (scan_file's result is then the exact pass's)."""
    import random

    monkeypatch.setattr(structure, "CHUNK", block)
    rng = random.Random(block)
    corpus = sorted((Path(__file__).parent / "fixtures" / "malformed").glob("*.csv"))
    paths = [*sorted(FIXTURES.glob("*.csv")), *corpus]
    for i in range(40 if block < 64 else 200):
        paths.append(write(tmp_path, f"random_{i}.csv", _random_csv(rng)))
    fast_ones = 0
    for path in paths:
        exact = structure._exact_scan(path)
        fast = structure._fast_scan(path)
        if fast is not None:
            fast_ones += 1
            assert exact.error is None, (path.name, path.read_bytes())
            assert _structure_fields(fast) == _structure_fields(exact), (path.name, path.read_bytes())
        assert _structure_fields(scan_file(path)) == _structure_fields(exact), path.name
    assert fast_ones > 12  # the fast path is taken for the well-formed files
    assert all(structure._fast_scan(path) is None for path in corpus if structure._exact_scan(path).error)


@pytest.mark.parametrize(
    ("dates", "line", "column_name"),
    [
        (["07/04/2023", "07/25/2023"], 3, "miss_missing_episode_start_date"),  # 7 April or 4 July?
        (["13/07/2023", "2023-07-14", "7/31/2023"], 4, "miss_missing_episode_start_date"),
    ],
)
def test_dates_valid_only_month_first_reject_the_file(
    tmp_path: Path, dates: list[str], line: int, column_name: str
) -> None:
    tf = missing_file(tmp_path, *(f"M{i},P1,{d},M,,," for i, d in enumerate(dates)))
    with pytest.raises(ExtractRejected) as info:
        read_table(tf)
    assert info.value.line == line
    assert f"line {line}: {column_name} holds a date valid only month first (MM/DD/YYYY)" in str(info.value)
    assert not any(d in str(info.value) for d in dates)  # dates of birth are identifying: no value quoted


def test_slash_dates_valid_neither_way_are_row_failures(tmp_path: Path) -> None:
    """02/30/2023 is no date month first either: a format failure of its row, not a rejection."""
    df = read_table(missing_file(tmp_path, "M1,P1,02/30/2023,M,,,", "M2,P1,13/13/2023,M,,,"))
    assert column(df, bad_column("miss_missing_episode_start_date")) == ["02/30/2023", "13/13/2023"]


def test_a_birth_date_month_first_rejects_without_quoting_it(tmp_path: Path) -> None:
    header = "pers_person_id,pers_sex,pers_ethnicity,pers_dob,pers_expected_dob,pers_death_date"
    tf = open_file(write(tmp_path, "ssd_person.csv", f"{header}\nP1,M,WBRI,05/01/2010,,\nP2,F,WBRI,12/31/2011,,\n"))
    with pytest.raises(ExtractRejected, match="line 3: pers_dob holds a date valid only month first") as info:
        read_table(tf)
    assert "12/31/2011" not in str(info.value) and "P2" not in str(info.value)


def test_polars_errors_are_named_without_the_text_polars_quotes(tmp_path: Path, monkeypatch) -> None:
    """If polars still cannot parse a file the structure pass accepted, the message names the
    kind of error only (polars quotes the text around it) and chains nothing."""
    tf = missing_file(tmp_path, "M1,P1,2023-07-01,M,,,")

    def broken(*args, **kwargs):
        raise pl.exceptions.ComputeError("could not parse `P1,secret value`")

    monkeypatch.setattr(pl.LazyFrame, "collect_batches", broken)
    with pytest.raises(ExtractRejected) as info:
        read_table(tf)
    assert "polars cannot parse it (ComputeError)" in str(info.value)
    assert "secret" not in str(info.value) and info.value.__cause__ is None and info.value.__suppress_context__


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"], ids=["no-BOM", "BOM"])
def test_the_header_is_read_alone_whatever_follows_it(tmp_path: Path, bom: bytes) -> None:
    """Only the header's bytes are decoded for it: a character of four bytes right after it is
    not cut in two."""
    text = MISSING_HEADER + "\n\U0001f600M1,P1,2023-07-01,M,,,\n"
    tf = open_file(write(tmp_path, "ssd_missing.csv", bom + text.encode()))
    assert tf.header == tuple(MISSING_HEADER.split(","))
    assert column(read_table(tf), "miss_table_id") == ["\U0001f600M1"]
