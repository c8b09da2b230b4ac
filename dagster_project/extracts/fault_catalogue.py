"""The faults the demo generator can inject (``generate --inject NAME``), with what each does.

Kept apart from their implementation (:mod:`dagster_project.extracts.faults`, which needs numpy and
polars) so the command line can list them without importing either.
"""

FAULTS: dict[str, str] = {
    "duplicate_contacts": "the month's contacts (dated in the month) appear twice, the copies under new ids",
    "truncated_table": "ssd_contacts.csv cut to about 40% of its rows (the manifest matches the cut file)",
    "missing_column": "required column cont_contact_source_code removed from ssd_contacts.csv",
    "unparseable_dates": "about 5% of cont_contact_date values unreadable ('31/13/2023', 'not a date')",
    "overlapping_placements": "about 5% of children in care get a placement overlapping their previous one",
    "missing_end_before_start": "about 5% of ended missing episodes end before they start",
    "all_rhi_accepted": "every return interview offered on a missing episode ending in the month is accepted",
    "manifest_row_count": "the manifest's row count for ssd_contacts.csv disagrees with the file (a council "
    "that writes no manifest, or no row counts, sends one with that wrong count)",
    "resent_previous_extract": "last month's extract sent again as this month's: every CSV a byte-identical copy of "
    "the previous month's file (the manifest, if any, dated this month)",
    "day_month_swapped": "day and month swapped in every ssd_contacts date whose day is 12 or less (an upgrade "
    "writing MM/DD): 5 February shows as 2 May",
    "codes_as_descriptions": "contact source codes sent as their descriptions after a system upgrade "
    "('Police' instead of 6, 'Schools' instead of 2A)",
    "placement_end_dates_lost": "about half of the ended placements lose their end date and change reason, "
    "so they show as still open",
    "missing_episodes_half_lost": "half of the missing episodes that started in the month are not in the extract",
    "contact_outcome_flag_lost": "the NEW_REFERRAL_FLAG outcome is missing from every contact's outcome JSON, "
    "so no contact shows as leading to a referral",
    "police_contacts_missing": "the month's contacts from the police (source 6) are not in the extract",
    "contacts_dated_first_of_month": "every contact received in the month is dated the 1st of the month",
    "assessment_completions_lost": "every assessment authorised in the month loses its authorisation date, so none "
    "shows as completed in the month",
}
