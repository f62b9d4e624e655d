-- Mart page_views: the day's page views per page name, from Segment page calls.
-- Grain: one row per page per dt. dt is added by the warehouse, not selected here.
-- Sources: lake.segment_pages (deduplicated by messageId, days cut in the source's time zone).
-- visitors counts signed-in users by user_id and the others by anonymous_id.
SELECT coalesce(name, '(unnamed)') AS page,
       count(*) AS views,
       count(DISTINCT coalesce(user_id, anonymous_id)) AS visitors
FROM lake.segment_pages
WHERE dt = {run_date}
GROUP BY coalesce(name, '(unnamed)')
