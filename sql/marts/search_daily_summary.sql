-- Mart search_daily_summary: one row of headline figures for the day's searches.
-- Grain: one row per dt. dt is added by the warehouse, not selected here.
-- Sources: lake.search_queries_items.
-- zero_result_rate is the share of queries that found nothing, as a fraction (0.0-1.0).
SELECT count(*) AS queries,
       count(DISTINCT user_id) AS users,
       sum(CASE WHEN result_count = 0 THEN 1 ELSE 0 END) * 1.0 / count(*) AS zero_result_rate,
       avg(result_count * 1.0) AS avg_results,
       sum(CASE WHEN device = 'mobile' THEN 1 ELSE 0 END) * 1.0 / count(*) AS mobile_share
FROM lake.search_queries_items
WHERE dt = {run_date}
