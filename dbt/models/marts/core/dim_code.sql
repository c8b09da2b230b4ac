{#- The code lists of the extract contract (seed ssd_code_lists), one row per code: what every
    coded column of the facts means. A fact joins it on (code_list, code); the facts that
    analysts read most carry the description beside each code already (macro join_code). -#}
select
    code_lists.code_list,
    code_lists.code,
    code_lists.description
from {{ ref('ssd_code_lists') }} as code_lists
