{#- One row per child known to the warehouse for extract M (var extract_month), keyed by the
    pseudonymised child_key: every person of the loaded extracts up to M, plus every child that
    a valid row of extract M (or a care-leaver snapshot up to M) references without a valid
    person row (the ingest resolves references against the whole file, so a child's person row
    may be quarantined while their contacts are valid): such children have unknown attributes.
    Attributes come from the latest extract holding the person. Only the month of birth is
    exposed (the exact date stays in staging). -#}
{%- set referencing = [
    ('stg_ssd__contacts', 'cont_person_id'),
    ('stg_ssd__cin_episodes', 'cine_person_id'),
    ('stg_ssd__cin_assessments', 'cina_person_id'),
    ('stg_ssd__s47_enquiry', 's47e_person_id'),
    ('stg_ssd__initial_cp_conference', 'icpc_person_id'),
    ('stg_ssd__cp_plans', 'cppl_person_id'),
    ('stg_ssd__cp_reviews', 'cppr_person_id'),
    ('stg_ssd__cla_episodes', 'clae_person_id'),
    ('stg_ssd__legal_status', 'lega_person_id'),
    ('stg_ssd__cla_placement', 'clap_person_id'),
    ('stg_ssd__missing', 'miss_person_id'),
    ('stg_ssd__cla_reviews', 'clar_cla_person_id'),
] -%}

with

persons as (

    select
        person.pers_person_id,
        person.pers_sex,
        person.pers_ethnicity,
        person.pers_dob,
        person.pers_expected_dob,
        person.pers_death_date,
        person.extract_month,
        row_number() over (
            partition by person.pers_person_id
            order by person.extract_month desc
        ) as snapshot_rank
    from {{ ref('stg_ssd__person') }} as person
    where person.extract_month <= {{ extract_month() }}

),

latest_persons as (

    select persons.*
    from persons
    where persons.snapshot_rank = 1

),

referenced as (

    {% for model, column in referencing %}
        select source_rows.{{ column }} as person_id
        from {{ ref(model) }} as source_rows
        where source_rows.extract_month = {{ extract_month() }}
        union
    {% endfor %}
    select care_leavers.clea_person_id as person_id
    from {{ ref('stg_ssd__care_leavers') }} as care_leavers
    where care_leavers.extract_month <= {{ extract_month() }}

),

unknown_persons as (

    select referenced.person_id
    from referenced
    left join latest_persons
        on referenced.person_id = latest_persons.pers_person_id
    where
        referenced.person_id is not null
        and latest_persons.pers_person_id is null

),

children as (

    select
        latest_persons.pers_person_id as person_id,
        latest_persons.pers_sex,
        latest_persons.pers_ethnicity,
        latest_persons.pers_dob,
        latest_persons.pers_expected_dob,
        latest_persons.pers_death_date,
        latest_persons.extract_month
    from latest_persons
    union all
    select
        unknown_persons.person_id,
        null as pers_sex,
        null as pers_ethnicity,
        null as pers_dob,
        null as pers_expected_dob,
        null as pers_death_date,
        null as extract_month
    from unknown_persons

)

select
    {{ pseudonymise('children.person_id') }} as child_key,
    children.pers_sex as sex,
    sexes.description as sex_description,
    children.pers_ethnicity as ethnicity,
    ethnicities.description as ethnicity_description,
    cast({{ dbt.date_trunc('month', 'children.pers_dob') }} as date) as birth_month,
    cast({{ dbt.date_trunc('month', 'children.pers_expected_dob') }} as date) as expected_birth_month,
    children.pers_death_date is not null as is_deceased,
    cast(children.extract_month as date) as latest_extract_month,
    children.extract_month is not null as has_person_record,
    coalesce(children.extract_month = {{ extract_month() }}, false) as in_current_extract
from children
{{ join_code('sex', 'children.pers_sex', 'sexes') }}
{{ join_code('ethnicity', 'children.pers_ethnicity', 'ethnicities') }}
