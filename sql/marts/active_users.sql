-- Mart active_users: daily, weekly and monthly active visitors of the website and app.
-- Grain: one row per dt. dt is added by the warehouse.
-- Sources: lake.segment_tracks and lake.segment_pages, partitions of the 30 days ending on the
-- run date (WAU: 7 days). A visitor is the user_id when signed in, else the anonymous_id, so a
-- visitor who signs in during the window counts under both ids.
-- Days missing from the lake count as days without activity: a fresh lake understates WAU/MAU.
-- stickiness is DAU / MAU.
WITH activity AS (
    SELECT dt, coalesce(user_id, anonymous_id) AS visitor
    FROM lake.segment_tracks
    WHERE dt > {run_date} - INTERVAL '30 days' AND dt <= {run_date}
    UNION ALL
    SELECT dt, coalesce(user_id, anonymous_id) AS visitor
    FROM lake.segment_pages
    WHERE dt > {run_date} - INTERVAL '30 days' AND dt <= {run_date}
)
SELECT count(DISTINCT CASE WHEN dt = {run_date} THEN visitor END) AS dau,
       count(DISTINCT CASE WHEN dt > {run_date} - INTERVAL '7 days' THEN visitor END) AS wau,
       count(DISTINCT visitor) AS mau,
       count(DISTINCT CASE WHEN dt = {run_date} THEN visitor END) * 1.0
           / CASE WHEN count(DISTINCT visitor) = 0 THEN 1 ELSE count(DISTINCT visitor) END AS stickiness
FROM activity
