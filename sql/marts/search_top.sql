-- Mart search_top: the day's most searched keywords, most selected libraries and most
-- listed ISBNs, top 20 of each, ranked by how often they occur.
-- Grain: one row per (dt, dimension, item). dt is added by the warehouse, not selected here.
-- Sources: lake.search_queries_user_search, lake.search_queries_selected_lib,
-- lake.search_queries_isbn13_list.
-- Lake tables are qualified with the `lake` schema (Redshift cannot put an external schema
-- on the search path). Portable subset: CTEs, UNION ALL, count(DISTINCT), row_number() window; runs unchanged on
-- Redshift, PostgreSQL and DataFusion.
WITH counts AS (
    SELECT 'keyword' AS dimension, lower(trim(value)) AS item,
           count(*) AS hits, count(DISTINCT query_id) AS queries
    FROM lake.search_queries_user_search
    WHERE dt = {run_date} AND value IS NOT NULL
    GROUP BY lower(trim(value))
    UNION ALL
    SELECT 'library' AS dimension, value AS item,
           count(*) AS hits, count(DISTINCT query_id) AS queries
    FROM lake.search_queries_selected_lib
    WHERE dt = {run_date} AND value IS NOT NULL
    GROUP BY value
    UNION ALL
    SELECT 'isbn13' AS dimension, value AS item,
           count(*) AS hits, count(DISTINCT query_id) AS queries
    FROM lake.search_queries_isbn13_list
    WHERE dt = {run_date} AND value IS NOT NULL
    GROUP BY value
),
ranked AS (
    SELECT dimension, item, hits, queries,
           row_number() OVER (PARTITION BY dimension ORDER BY hits DESC, item) AS item_rank
    FROM counts
)
SELECT dimension, item_rank, item, hits, queries
FROM ranked
WHERE item_rank <= 20
