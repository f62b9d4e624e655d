-- Mart search_users: searches per user for the day.
-- Grain: one row per signed-in user who searched, per dt. dt is added by the warehouse.
-- Sources: lake.search_queries_items (one row per query item; queries without a user_id are
-- anonymous and left out).
-- zero_result_queries counts the user's queries that found nothing.
SELECT user_id,
       count(*) AS queries,
       sum(CASE WHEN result_count = 0 THEN 1 ELSE 0 END) AS zero_result_queries,
       sum(CASE WHEN device = 'mobile' THEN 1 ELSE 0 END) AS mobile_queries,
       avg(result_count * 1.0) AS avg_results
FROM lake.search_queries_items
WHERE dt = {run_date} AND user_id IS NOT NULL
GROUP BY user_id
