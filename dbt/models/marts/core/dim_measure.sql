{#- The measure catalogue (seeds/measures.csv), one row per scorecard measure. -#}
select
    measures.measure_id,
    measures.measure_name,
    measures.spec_name,
    measures.section,
    measures.polarity,
    measures.unit,
    measures.is_snapshot,
    nullif(measures.requires_feature, '') as requires_feature,
    measures.definition,
    measures.sort_order
from {{ ref('measures') }} as measures
