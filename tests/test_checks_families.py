"""Plausibility checks on small hand-made warehouses: each family passes clean figures and catches
the defect it exists for, with the figures in its summary."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from datetime import date, datetime, timedelta

import pytest

from dagster_project.checks import families as pl
from dagster_project.checks.families.freshness import allowed_lag
from dagster_project.checks.policy import DEFAULT_POLICY, load_policy
from dagster_project.publish.audit import record_published_figures
from tests import checks_warehouse as T

DEC = date(2023, 12, 1)
NOV = date(2023, 11, 1)
POLICY = load_policy(DEFAULT_POLICY)


@pytest.fixture
def wh(tmp_path):
    con = T.make_warehouse(tmp_path / "w.duckdb")
    T.build_consistent(con, DEC)
    yield con
    con.close()


def by_id(findings):
    return {f.check_id: f for f in findings}


def failed(findings):
    return {f.check_id: f for f in findings if not f.passed}


# ---- a clean month passes everything ----------------------------------------------------------


def test_a_clean_month_passes_every_plausibility_check(wh):
    assert failed(pl.scorecard_findings(wh, DEC, POLICY)) == {}
    assert failed(pl.raw_findings(wh, DEC, POLICY)) == {}


# ---- completeness ---------------------------------------------------------------------------------


def test_completeness_catches_a_half_built_scorecard(wh):
    wh.execute("delete from main.fct_scorecard where measure_id = 'contacts' and month = ?", [DEC])
    wh.execute("update main.fct_scorecard set extract_month = ? where measure_id = 'away_episodes'", [NOV])
    f = by_id(pl.completeness(wh, DEC, POLICY))["completeness.scorecard"]
    assert not f.passed
    assert "contacts/2023-12" in f.evidence["missing"]
    assert f.evidence["wrong_extract_month"] == ["away_episodes"]
    assert "347 rows" in f.summary and "348 expected" in f.summary


def test_completeness_checks_not_available_against_the_extract_features(wh):
    # the extract has the decision date, yet the figure says "not available"
    T.set_figure(
        wh,
        "contacts_decided_1wd_pct",
        DEC,
        availability="not_available",
        value=None,
        numerator=None,
        denominator=None,
    )
    f = by_id(pl.completeness(wh, DEC, POLICY))["completeness.scorecard"]
    assert not f.passed
    assert any(
        "contacts_decided_1wd_pct/2023-12: not_available while" in x for x in f.evidence["feature_mismatch"]
    )


def test_not_available_is_right_when_the_feature_is_absent(tmp_path):
    con = T.make_warehouse(tmp_path / "w.duckdb")
    T.fill_scorecard(con, DEC, {"cp_reviews_on_time_pct": [None] * 12})
    con.execute(
        "update main.fct_scorecard set availability = 'not_available' "
        "where measure_id = 'cp_reviews_on_time_pct'"
    )
    T.add_extract(con, DEC, features=["ssd_contacts.cont_contact_decision_date"])
    assert by_id(pl.completeness(con, DEC, POLICY))["completeness.scorecard"].passed


# ---- bounds ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "measure, cols, problem",
    [
        (
            "rhi_accepted_pct",
            {"value": 112.0, "numerator": 168, "denominator": 150},
            "percentage outside 0-100",
        ),
        ("icpc_15wd_pct", {"value": 90.0, "numerator": 27, "denominator": 25}, "numerator above denominator"),
        ("cla_reviews_on_time_pct", {"value": 96.0}, "value is not 100 x numerator / denominator"),
        ("contacts", {"value": -3.0, "numerator": -3}, "negative count"),
        (
            "ceased_sgo_pct",
            {"value": 0.0, "numerator": 0, "denominator": 0},
            "a percentage of a zero denominator",
        ),
        ("returned_home", {"availability": "no_data"}, "a value although the figure is no_data"),
    ],
)
def test_bounds(wh, measure, cols, problem):
    T.set_figure(wh, measure, DEC, **cols)
    found = failed(pl.bounds(wh, DEC, POLICY))
    assert list(found) == [f"bounds.{measure}"]
    assert problem in found[f"bounds.{measure}"].summary
    assert "2023-12" in found[f"bounds.{measure}"].summary


def test_bounds_accept_rounding_to_one_decimal(wh):
    T.set_figure(wh, "icpc_15wd_pct", DEC, value=66.7, numerator=2, denominator=3)
    assert failed(pl.bounds(wh, DEC, POLICY)) == {}


# ---- consistency ----------------------------------------------------------------------------------


def test_consistency_catches_police_contacts_above_contacts(wh):
    T.set_figure(wh, "police_contacts", DEC, value=1200.0, numerator=1200)
    found = failed(pl.consistency(wh, DEC, POLICY))
    f = found["consistency.police_contacts_le_contacts"]
    assert "police_contacts.numerator <= contacts.numerator): 2023-12: 1,200 vs 1,000" in f.summary
    assert f.figure_month == DEC


def test_consistency_catches_two_contact_counts_for_one_month(wh):
    # Bradford, October 2023: 3,567 contacts in one table and 3,568 in the other
    for m in T.window(DEC):
        T.set_figure(wh, "contacts", m, value=3567.0, numerator=3567)
        T.set_figure(wh, "contacts_to_referral_pct", m, numerator=746, denominator=3567, value=20.9)
        T.set_figure(wh, "contacts_decided_1wd_pct", m, numerator=2985, denominator=3567, value=83.7)
        T.set_figure(wh, "police_contacts_pct", m, numerator=300, denominator=3567, value=8.4)
    T.set_figure(wh, "contacts_to_referral_pct", date(2023, 10, 1), denominator=3568, value=20.9)
    found = failed(pl.consistency(wh, DEC, POLICY))
    assert list(found) == ["consistency.contacts_to_referral_denominator"]
    assert (
        "(contacts_to_referral_pct.denominator = contacts.numerator): 2023-10: 3,568 vs 3,567"
        in found["consistency.contacts_to_referral_denominator"].summary
    )


def test_consistency_children_in_care_within_all_children(wh):
    T.set_figure(wh, "cla_children_missing", NOV, value=101.0, numerator=101)
    found = failed(pl.consistency(wh, DEC, POLICY))
    assert "consistency.cla_children_missing_le_children_missing" in found
    assert "consistency.cla_children_missing_le_cla_episodes" not in found  # 101 <= 150


def test_consistency_skips_figures_that_are_not_available(wh):
    T.set_figure(
        wh,
        "contacts_decided_1wd_pct",
        DEC,
        availability="not_available",
        value=None,
        numerator=None,
        denominator=None,
    )
    assert "consistency.contacts_decided_1wd_denominator" not in failed(pl.consistency(wh, DEC, POLICY))


# ---- reconciliation -------------------------------------------------------------------------------


def test_scorecard_counts_equal_their_fact_rows(wh):
    T.set_figure(wh, "contacts", DEC, value=1001.0, numerator=1001)
    found = failed(pl.reconciliation(wh, DEC, POLICY))
    f = found["reconciliation.contacts"]
    assert "2023-12: scorecard 1,001 vs 1,000 rows of fct_contacts" in f.summary
    assert f.asset_key == "fct_contacts"


def test_fact_rows_equal_valid_raw_rows(wh):
    wh.execute(
        """update raw.ssd_missing set _is_valid = false where miss_table_id in (
               select miss_table_id from raw.ssd_missing
               where miss_missing_episode_start_date >= ? limit 2)""",
        [DEC],
    )
    found = failed(pl.reconciliation(wh, DEC, POLICY))
    assert (
        "2023-12: 280 rows of fct_missing_episodes vs 278 valid rows of raw.ssd_missing"
        in found["reconciliation.fct_missing_episodes_rows"].summary
    )


def test_distinct_children_are_counted_distinctly(wh):
    T.set_figure(wh, "children_missing", DEC, value=250.0, numerator=250)  # episodes, not children
    f = failed(pl.reconciliation(wh, DEC, POLICY))["reconciliation.children_missing"]
    assert "vs " in f.summary and " distinct child_key of fct_missing_episodes" in f.summary  # children, not rows


# ---- history --------------------------------------------------------------------------------------


def series_pct(pairs):
    return [tuple(p) for p in pairs]


def test_history_flags_a_rate_jumping_from_39_to_83_percent(tmp_path):
    con = T.make_warehouse(tmp_path / "w.duckdb")
    T.fill_scorecard(
        con,
        DEC,
        {
            "rhi_accepted_pct": series_pct([*T.RHI_HISTORY, T.RHI_JUMP]),
            "cla_rhi_accepted_pct": series_pct([(30, 80)] * 11 + [(31, 80)]),
        },
    )
    f = by_id(pl.history(con, DEC, POLICY))["history.rhi_accepted_pct"]
    assert not f.passed
    assert "83.3% (125/150)" in f.summary and "median of 42.0%" in f.summary
    assert f.evidence["z"] > 4 and f.figure_month == DEC


def test_history_passes_ordinary_month_to_month_noise(tmp_path):
    con = T.make_warehouse(tmp_path / "w.duckdb")
    T.fill_scorecard(con, DEC, {"rhi_accepted_pct": series_pct([*T.RHI_HISTORY, (72, 152)])})  # 47 %
    assert by_id(pl.history(con, DEC, POLICY))["history.rhi_accepted_pct"].passed


@pytest.mark.parametrize("current", [(2, 3), (3, 3), (0, 3), (1, 2)])
def test_history_small_denominators_are_normal(tmp_path, current):
    con = T.make_warehouse(tmp_path / "w.duckdb")
    past = [(3, 3), (2, 3), (3, 3), (3, 4), (2, 2), (3, 3), (2, 3), (4, 4), (3, 3), (1, 2), (3, 3)]
    T.fill_scorecard(con, DEC, {"icpc_15wd_pct": series_pct(past + [current])})
    assert by_id(pl.history(con, DEC, POLICY))["history.icpc_15wd_pct"].passed


def test_history_flags_a_collapse_on_a_large_denominator(tmp_path):
    con = T.make_warehouse(tmp_path / "w.duckdb")
    past = [
        (160, 200),
        (158, 199),
        (165, 204),
        (161, 198),
        (159, 201),
        (163, 200),
        (157, 197),
        (162, 203),
        (160, 200),
        (164, 202),
        (158, 199),
    ]
    T.fill_scorecard(con, DEC, {"assessments_45wd_pct": series_pct(past + [(100, 200)])})  # 80 % -> 50 %
    f = by_id(pl.history(con, DEC, POLICY))["history.assessments_45wd_pct"]
    assert not f.passed and "50.0% (100/200)" in f.summary


ASSESSED = [(425, 545), (429, 515), (373, 469), (410, 520), (398, 500), (440, 530), (415, 505), (402, 498),
            (431, 540), (420, 512), (409, 507)]


@pytest.mark.parametrize(
    "current, passes, says",
    [
        ((0, 0), False, "no data, no case this month: its cases 0 against a median of 512"),  # completions not sent
        ((820, 1030), False, "its cases 1,030 against a median of 512"),  # the month's cases sent twice: same share
        ((120, 150), False, "its cases 150 against a median of 512"),  # most of them lost
        ((400, 490), True, "its cases 490 against a median of 512"),
    ],
)
def test_history_judges_a_percentages_cases_as_a_count(tmp_path, current, passes, says):
    """A share can look normal, or have no figure at all, when the month's cases were lost or
    sent twice: the denominator is judged against its own months too."""
    con = T.make_warehouse(tmp_path / "w.duckdb")
    T.fill_scorecard(con, DEC, {"assessments_45wd_pct": series_pct([*ASSESSED, current])})
    f = by_id(pl.history(con, DEC, POLICY))["history.assessments_45wd_pct"]
    assert f.passed is passes, f.summary
    assert says in f.summary and ("an unusual change" in f.summary) is not passes
    assert f.evidence["cases"]["value"] == current[1]


@pytest.mark.parametrize("current", [(0, 0), (1, 1)])
def test_history_of_a_percentages_cases_leaves_rare_events_alone(tmp_path, current):
    """A council with two to four conferences a month may have none: below the count rule's
    minimum, never judged."""
    con = T.make_warehouse(tmp_path / "w.duckdb")
    past = [(3, 3), (2, 3), (3, 3), (3, 4), (2, 2), (3, 3), (2, 3), (4, 4), (3, 3), (1, 2), (3, 3)]
    T.fill_scorecard(con, DEC, {"icpc_15wd_pct": series_pct(past + [current])})
    f = by_id(pl.history(con, DEC, POLICY))["history.icpc_15wd_pct"]
    assert f.passed and "never judged" in f.summary, f.summary


def test_a_denominator_that_is_another_figure_is_judged_once_where_it_is_its_own(tmp_path):
    """The contacts behind the contact percentages are the contacts count (same_number in
    seeds/measure_relations.csv): their collapse holds history.contacts, not each percentage again."""
    con = T.make_warehouse(tmp_path / "w.duckdb")
    contacts = CONTACTS_PAST + [1200]
    T.fill_scorecard(con, date(2023, 10, 1), {
        "contacts": contacts, "contacts_to_referral_pct": [(c // 4, c) for c in contacts],
        "contacts_decided_1wd_pct": [(c // 2, c) for c in contacts],
        "police_contacts_pct": [(300, c) for c in contacts]})
    findings = by_id(pl.history(con, date(2023, 10, 1), POLICY))
    assert not findings["history.contacts"].passed
    assert findings["history.contacts_to_referral_pct"].passed
    assert "its cases" not in findings["history.contacts_to_referral_pct"].summary


CONTACTS_PAST = [3520, 3480, 3610, 3390, 3550, 3600, 3450, 3380, 3500, 3620, 3570]


@pytest.mark.parametrize(
    "month, value, passes",
    [
        (date(2023, 8, 1), 2853, True),  # August: schools are closed
        (date(2023, 12, 1), 2667, True),  # December
        (date(2023, 10, 1), 2400, False),  # a -32 % dip in October is not seasonal
        (date(2023, 10, 1), 2900, True),  # -18 %: less than the policy's 25 % minimum change
        (date(2023, 10, 1), 3568, True),
        (date(2023, 10, 1), 4700, False),  # +33 %
        (date(2023, 8, 1), 1500, False),  # beyond any seasonal allowance
    ],
)
def test_history_of_counts_knows_the_seasons(tmp_path, month, value, passes):
    con = T.make_warehouse(tmp_path / "w.duckdb")
    contacts = CONTACTS_PAST + [value]
    police = [300] * 12
    T.fill_scorecard(
        con,
        month,
        {
            "contacts": contacts,
            "police_contacts": police,
            "contacts_to_referral_pct": [(230, c) for c in contacts],
            "contacts_decided_1wd_pct": [(800, c) for c in contacts],
            "police_contacts_pct": [(300, c) for c in contacts],
        },
    )
    f = by_id(pl.history(con, month, POLICY))["history.contacts"]
    assert f.passed is passes, f.summary
    assert f"{value:,}" in f.summary and "median of 3,520" in f.summary
    assert "they ranged 3,380-3,620; accepted " in f.summary  # what happened, then what the check allows


def test_history_needs_enough_past_months(tmp_path):
    con = T.make_warehouse(tmp_path / "w.duckdb")
    T.fill_scorecard(con, DEC, {"care_leavers_eet_pct": [None] * 9 + [(120, 200), (118, 200), (40, 200)]})
    f = by_id(pl.history(con, DEC, POLICY))["history.care_leavers_eet_pct"]
    assert f.passed and "only 2 earlier months" in f.summary


# ---- restatement ----------------------------------------------------------------------------------


def publish_november(con, figures=None):
    """Publish a scorecard from extract November (the audit trail), then rebuild December."""
    T.fill_scorecard(con, NOV, figures)
    con.execute("delete from main.fct_scorecard where extract_month <> ?", [NOV])
    record_published_figures(con, NOV, "run-nov", datetime(2023, 12, 4, 9, 0))
    T.fill_scorecard(con, DEC)
    con.execute("delete from main.fct_scorecard where extract_month <> ?", [DEC])


def publish_history(con, extracts, series_of):
    """Publish a scorecard from each extract in turn (the audit trail); ``series_of(extract)`` gives
    the figures of that extract (fill_scorecard's form). The working scorecard is left at December."""
    for e in extracts:
        T.fill_scorecard(con, e, series_of(e))
        con.execute("delete from main.fct_scorecard where extract_month <> ?", [e])
        record_published_figures(con, e, f"run-{e:%Y-%m}", datetime(e.year, e.month, 28, 9, 0))


LATE = [date(2023, m, 1) for m in range(7, 12)]  # extracts July..November, published


def late_recorded(extract):
    """1,000 decided contacts a month, of which 200 of the newest month are recorded late."""
    return {"contacts_decided_1wd_pct": [(1000 if m < extract else 800, 2500) for m in T.window(extract)]}


def test_restatement_without_a_baseline_is_not_judged(wh):
    publish_november(wh)
    T.set_figure(wh, "contacts", date(2023, 10, 1), value=1300.0, numerator=1300)
    f = by_id(pl.restatement(wh, DEC, POLICY))["restatement.contacts"]
    assert f.passed and "no baseline yet" in f.summary


def test_restatement_learns_the_councils_own_late_recording(wh):
    publish_history(wh, LATE, late_recorded)
    T.fill_scorecard(wh, DEC, {"contacts_decided_1wd_pct": [(1000, 2500)] * 11 + [(800, 2500)]})
    wh.execute("delete from main.fct_scorecard where extract_month <> ?", [DEC])
    found = by_id(pl.restatement(wh, DEC, POLICY))
    f = found["restatement.contacts_decided_1wd_pct"]  # Nov 800 -> 1,000: late recording, as usual
    assert f.passed
    assert f.summary == ("contacts_decided_1wd_pct: 11 published months compared, 1 changed, all within this "
                         "council's usual late recording")
    assert found["restatement.contacts"].summary == "contacts: 11 published months compared, none changed"
    T.set_figure(wh, "contacts_decided_1wd_pct", date(2023, 9, 1), numerator=1200, value=48.0)
    f = failed(pl.restatement(wh, DEC, POLICY))["restatement.contacts_decided_1wd_pct"]
    assert (
        "2023-09 published 40.0% (1,000/2,500) (extract 2023-11), now 48.0% (1,200/2,500): numerator +200"
        in f.summary
    )
    assert f.figure_month == date(2023, 9, 1)


def test_restatement_after_a_held_month_allows_two_steps(wh):
    publish_history(wh, LATE[:-1], late_recorded)  # November held, never published
    T.fill_scorecard(wh, DEC, {"contacts_decided_1wd_pct": [(1000, 2500)] * 11 + [(800, 2500)]})
    wh.execute("delete from main.fct_scorecard where extract_month <> ?", [DEC])
    assert by_id(pl.restatement(wh, DEC, POLICY))["restatement.contacts_decided_1wd_pct"].passed


def test_restatement_of_small_denominators_needs_real_counts_to_move(wh):
    publish_november(wh, {"icpc_15wd_pct": [(2, 3)] * 12})
    T.fill_scorecard(wh, DEC, {"icpc_15wd_pct": [(2, 3)] * 10 + [(3, 4), (2, 3)]})  # 66.7 % -> 75 %
    assert "restatement.icpc_15wd_pct" not in failed(pl.restatement(wh, DEC, POLICY))


def test_a_published_figure_that_disappears_is_a_restatement(wh):
    publish_november(wh)
    T.set_figure(wh, "returned_home", date(2023, 6, 1), value=None, numerator=None, availability="no_data")
    f = failed(pl.restatement(wh, DEC, POLICY))["restatement.returned_home"]
    assert "now no data" in f.summary


def test_restatement_compares_with_the_latest_earlier_publication(wh):
    publish_november(wh)  # 1,000 everywhere
    T.fill_scorecard(wh, date(2023, 11, 1), {"contacts": [1000] * 11 + [1000]})
    wh.execute(
        "update main.fct_scorecard set value = 1100, numerator = 1100 "
        "where measure_id = 'contacts' and month = '2023-10-01'"
    )
    wh.execute("delete from main.fct_scorecard where extract_month <> '2023-11-01'")
    record_published_figures(wh, NOV, "run-nov-rerun", datetime(2023, 12, 6, 9, 0))  # re-published later
    T.fill_scorecard(wh, DEC)
    wh.execute("delete from main.fct_scorecard where extract_month <> ?", [DEC])
    T.set_figure(wh, "contacts", date(2023, 10, 1), value=1100.0, numerator=1100)
    assert "restatement.contacts" not in failed(pl.restatement(wh, DEC, POLICY))


# ---- raw layer ------------------------------------------------------------------------------------


def accept(con, *months):
    """Extracts the council published (its accepted history); the working scorecard stays December's."""
    for m in months:
        T.fill_scorecard(con, m)
        con.execute("delete from main.fct_scorecard where extract_month <> ?", [m])
        record_published_figures(con, m, f"run-{m:%Y-%m}", datetime(m.year, m.month, 28, 9, 0))
    T.fill_scorecard(con, DEC)
    con.execute("delete from main.fct_scorecard where extract_month <> ?", [DEC])


AUG_TO_NOV = [date(2023, m, 1) for m in range(8, 12)]


def test_volume_drift_catches_a_truncated_table(wh):
    wh.execute("delete from raw.load_log")
    leavers = [1000, 1060, 1000, 1050]  # a current-state table that moves a few percent a month
    for i, m in enumerate(AUG_TO_NOV):
        T.load_all_tables(wh, m, rows=1000 + i, overrides={"ssd_care_leavers": leavers[i]})
    accept(wh, *AUG_TO_NOV)
    T.load_all_tables(
        wh, DEC, rows=1004, overrides={"ssd_contacts": 910, "ssd_cla_placement": 990, "ssd_care_leavers": 980}
    )
    found = failed(pl.volume_drift(wh, DEC, POLICY))
    assert list(found) == ["volume_drift.ssd_contacts"]  # -1 % placements is normal, leavers move ~6 %
    summary = found["volume_drift.ssd_contacts"].summary
    assert "910 rows in extract 2023-12 against 1,003 in 2023-11 (-9.3%)" in summary
    assert "a truncated transfer?" in summary
    # what the table did (one more row a month), then the band the check accepts
    assert "over its last 3 changes this table moved +0.1% to +0.1% a month, and " in summary


def test_volume_drift_ignores_tiny_tables_and_the_first_extract(wh):
    assert failed(pl.volume_drift(wh, DEC, POLICY)) == {}  # first extract
    wh.execute("delete from raw.load_log")
    for m in AUG_TO_NOV:
        T.load_all_tables(wh, m, rows=20)
    accept(wh, *AUG_TO_NOV)
    T.load_all_tables(wh, DEC, rows=20, overrides={"ssd_cp_reviews": 14})  # -30 % but only 6 rows
    assert failed(pl.volume_drift(wh, DEC, POLICY)) == {}


def test_volume_drift_says_no_baseline_yet(wh):
    wh.execute("delete from raw.load_log")
    T.load_all_tables(wh, NOV, rows=1000)
    accept(wh, NOV)
    T.load_all_tables(wh, DEC, rows=1000, overrides={"ssd_contacts": 400})
    f = by_id(pl.volume_drift(wh, DEC, POLICY))["volume_drift.ssd_contacts"]
    assert f.passed and "no baseline yet" in f.summary


def test_volume_drift_respects_optional_tables(wh):
    T.load_all_tables(wh, NOV, rows=1000)
    wh.execute("delete from raw.load_log where extract_month = ? and table_name = 'ssd_cp_reviews'", [DEC])
    wh.execute("delete from raw.load_log where extract_month = ? and table_name = 'ssd_contacts'", [DEC])
    found = by_id(pl.volume_drift(wh, DEC, POLICY))
    assert found["volume_drift.ssd_cp_reviews"].passed
    assert not found["volume_drift.ssd_contacts"].passed  # a required table must be there


def quarantine(wh, month, table, n, quarantined, dropped=0):
    wh.execute("delete from raw.load_log where extract_month = ? and table_name = ?", [month, table])
    T.add_load(wh, month, table, n, rows_quarantined=quarantined, duplicates_dropped=dropped)


def test_quarantine_rate_lists_the_rules(wh):
    quarantine(wh, DEC, "ssd_cla_placement", 500, 5, 1)
    rows = [
        (DEC, 10 + i, f"P{10 + i}", "501/574", "clap_cla_placement_start_date", "2023-05-01", "overlaps")
        for i in range(4)
    ]
    rows += [
        (
            DEC,
            20,
            "P20",
            "356/8608/8630/8925/567",
            "clap_cla_placement_end_date",
            "2023-01-01",
            "end < start",
        ),
        (DEC, 21, "P21", "key", None, None, "exact duplicate row dropped"),
    ]
    wh.executemany("insert into raw.quarantine values (?, 'ssd_cla_placement', ?, ?, ?, ?, ?, ?)", rows)
    f = by_id(pl.quarantine_rate(wh, DEC, POLICY))["quarantine_rate.ssd_cla_placement"]
    assert "6 of 500 rows quarantined or dropped (1.20%; 5 quarantined, 1 duplicates)" in f.summary
    assert "; by rule: " in f.summary and "501/574 (4 rows)" in f.summary
    assert "356/8608/8630/8925/567 (1 row)" in f.summary
    assert "no baseline yet" in f.summary
    assert {r["rule"] for r in f.evidence["by_rule"]} == {"501/574", "356/8608/8630/8925/567", "key"}


@pytest.mark.parametrize(
    "before, now, flagged",
    [
        ((10_000, 0), (10_000, 0), False),  # clean extracts quarantine nothing
        (None, (10_000, 4), False),  # a few rows: below min_rows
        ((10_000, 40), (10_000, 45), False),  # a council's steady background (0.40 % -> 0.45 %)
        ((10_000, 10), (10_000, 30), True),  # 0.10 % -> 0.30 %: a new fault, though small
        ((10_000, 0), (10_000, 83), True),  # overlapping placements: 0.83 % of rows
        ((10_000, 400), (10_000, 430), False),  # a council with a 4 % background
        (None, (10_000, 60), False),  # first extract: no baseline yet
    ],
)
def test_quarantine_rate_against_the_councils_own_background(wh, before, now, flagged):
    if before is not None:
        quarantine(wh, NOV, "ssd_cla_placement", *before)
        accept(wh, NOV)
    quarantine(wh, DEC, "ssd_cla_placement", *now)
    f = by_id(pl.quarantine_rate(wh, DEC, POLICY))["quarantine_rate.ssd_cla_placement"]
    assert f.passed is not flagged, f.summary


def test_load_reconciliation(wh):
    assert failed(pl.load_reconciliation(wh, DEC, POLICY)) == {}
    wh.execute("update raw.load_log set rows_read = rows_read + 1 where table_name = 'ssd_contacts'")
    f = failed(pl.load_reconciliation(wh, DEC, POLICY))["load_reconciliation.ssd_contacts"]
    assert "does not reconcile" in f.summary


def test_freshness_catches_a_stale_extract(wh):
    wh.execute("delete from raw.ssd_contacts where cont_contact_date >= '2023-12-10'")
    found = failed(pl.freshness(wh, DEC, POLICY))
    f = found["freshness.ssd_contacts"]
    assert "newest cont_contact_date 2023-12-09" in f.summary and "limit 10 days" in f.summary


def test_freshness_of_the_extract_date(wh):
    wh.execute("update raw.extracts set extract_date = '2024-03-01'")
    found = failed(pl.freshness(wh, DEC, POLICY))
    assert "freshness.extract_date" in found
    assert "61 days after the month end" in found["freshness.extract_date"].summary


def test_volume_drift_compares_with_the_last_published_extract(wh):
    """A blocked, truncated October is not the yardstick for November."""
    T.load_all_tables(wh, date(2023, 9, 1), rows=1000)
    T.load_all_tables(wh, date(2023, 10, 1), rows=1000, overrides={"ssd_contacts": 400})  # truncated, blocked
    wh.execute("delete from main.fct_scorecard")
    accept(wh, date(2023, 9, 1))
    T.fill_scorecard(wh, NOV)
    T.load_all_tables(wh, NOV, rows=1000)
    f = by_id(pl.volume_drift(wh, NOV, POLICY))["volume_drift.ssd_contacts"]
    assert f.passed and "against 1,000 in 2023-09" in f.summary


@pytest.mark.parametrize("month, passes", [(date(2023, 8, 1), True), (date(2023, 10, 1), False)])
def test_shares_move_more_in_the_seasonal_months(tmp_path, month, passes):
    """The police's share of contacts rises when schools close: +12 points in August is seasonal."""
    con = T.make_warehouse(tmp_path / "w.duckdb")
    past = [(960 + 5 * (i % 3), 3500) for i in range(11)]  # 27.4 %-27.8 %
    T.fill_scorecard(con, month, {"police_contacts_pct": past + [(1380, 3500)]})  # 39.4 %
    f = by_id(pl.history(con, month, POLICY))["history.police_contacts_pct"]
    assert f.passed is passes, f.summary


def test_an_optional_table_absent_from_the_extract_passes_the_load_checks(wh):
    wh.execute("delete from raw.load_log where extract_month = ? and table_name = 'ssd_cp_reviews'", [DEC])
    wh.execute("delete from raw.ssd_cp_reviews where _extract_month = ?", [DEC])
    # the default policy checks the freshness of required tables only; a council may add any table
    freshness = dict(POLICY.families["freshness"])
    freshness["tables"] = {**freshness["tables"], "ssd_cp_reviews": "cppr_cp_review_date"}
    policy = dataclasses.replace(POLICY, families={**POLICY.families, "freshness": freshness})
    for check in (pl.quarantine_rate, pl.load_reconciliation, pl.freshness):
        f = by_id(check(wh, DEC, policy))[f"{check.__name__}.ssd_cp_reviews"]
        assert f.passed and f.summary == "ssd_cp_reviews: not in this extract", (check.__name__, f.summary)
        assert f.asset_key == "raw/ssd_cp_reviews"


# ---- mix ------------------------------------------------------------------------------------------


def contacts_of(wh, past, now, now_sources=("6", "2A", "3A", "1A")):
    """Contacts of extract December: ``past`` dates with four sources in turn, then ``now``."""
    wh.execute("delete from raw.ssd_contacts where _extract_month = ?", [DEC])
    sources = ("6", "2A", "3A", "1A")
    rows = [(d, sources[i % 4]) for i, d in enumerate(past)]
    rows += [(d, now_sources[i % len(now_sources)]) for i, d in enumerate(now)]
    T.insert_raw(wh, "ssd_contacts", DEC, [
        {"cont_contact_id": f"C{i}", "cont_contact_date": d, "cont_contact_source_code": s}
        for i, (d, s) in enumerate(rows)
    ])


def working_days(first, last):
    return [d for d in (first + timedelta(days=k) for k in range((last - first).days + 1)) if d.weekday() < 5]


def test_mix_holds_a_month_recoded_or_stamped_with_one_date(wh):
    past = working_days(date(2022, 12, 1), date(2023, 11, 30)) * 3
    december = working_days(DEC, date(2023, 12, 31)) * 3
    contacts_of(wh, past, december)
    found = by_id(pl.mix(wh, DEC, POLICY))
    assert found["mix.ssd_contacts"].passed and found["mix.contact_weekdays"].passed, found
    contacts_of(wh, past, [DEC] * len(december))  # every December contact stamped with the 1st
    f = by_id(pl.mix(wh, DEC, POLICY))["mix.contact_weekdays"]
    assert not f.passed and "ssd_contacts.day of the week: the mix of 2023-12" in f.summary
    assert f.asset_key == "raw/ssd_contacts"
    assert by_id(pl.mix(wh, DEC, POLICY))["mix.ssd_contacts"].passed  # the sources are as usual
    contacts_of(wh, past, december, now_sources=("6",))  # every December contact sent as from the police
    f = by_id(pl.mix(wh, DEC, POLICY))["mix.ssd_contacts"]
    assert not f.passed and "6 25% -> 100%" in f.summary


def test_freshness_allows_the_gaps_a_council_with_rare_events_has_by_chance(wh):
    """A small council's referrals: one a week, then none for the last 16 days before the extract."""
    wh.execute("delete from raw.ssd_cin_episodes where _extract_month = ?", [DEC])
    first = date(2022, 12, 27)
    T.insert_raw(wh, "ssd_cin_episodes", DEC, [
        {"cine_referral_id": f"R{i}", "cine_referral_date": first + timedelta(days=7 * i)}
        for i in range(50)])  # the last on 2023-12-05
    wh.execute("update raw.extracts set extract_date = '2023-12-21'")
    f = by_id(pl.freshness(wh, DEC, POLICY))["freshness.ssd_cin_episodes"]
    assert f.passed, f.summary  # 50 in the year: ln(1000) / (50 / 365) = 50.4 days allowed
    assert f.evidence["allowed_lag_days"] == 51 and f.evidence["lag_days"] == 16
    assert allowed_lag(14.0, 10, 0.001) == 10  # Bradford's ~14 referrals a day: the policy's 10 days
    assert allowed_lag(0.0, 10, 0.001) is None
    wh.execute("update raw.extracts set extract_date = '2024-02-15'")  # 72 days without a referral
    f = by_id(pl.freshness(wh, DEC, POLICY))["freshness.ssd_cin_episodes"]
    assert not f.passed and "(limit 51 days): the extract looks stale" in f.summary  # the year to 2023-12-05
    assert f.evidence["lag_days"] == 72


def test_a_mixs_largest_moves_are_named_in_the_same_order_in_every_process():
    """Equal moves are named in code order: a string set's order changes with each process's hash
    salt, and the quality report of the same data must be the same words (found when two runs of one
    extract published quality reports that named the tied codes '7' and '3F' in turn)."""
    code = ("from dagster_project.checks.families.mix import _moved;"
            "print(_moved({'5A': 11, '1': 89}, {'5A': 2.0, '7': 2.0, '3F': 2.0, 'A': 2.0, '1': 92.0}))")
    outputs = {subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONHASHSEED": str(seed)},
                              capture_output=True, text=True, check=True).stdout for seed in range(4)}
    assert outputs == {"['5A 2% -> 11%', '1 92% -> 89%', '3F 2% -> 0%']\n"}
