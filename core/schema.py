"""The warehouse schema version, shared by the ETL that writes it and the app that reads it.

2: pub and legacy tables in the DDL, ref.event, the fact_check view; 3: ref.population;
4: ref.index766_group (the 766 methods), ref.event.topic; 5: ref.published (published
figures), the published and published_check views.
A reader that finds another version says so (`python -m etl ensure` rebuilds, keeping every
load) instead of failing on a missing column.
"""

SCHEMA_VERSION = 5
