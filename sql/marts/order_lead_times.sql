-- Mart order_lead_times: how long the orders delivered on the run date spent in each stage.
-- Grain: one row per stage per dt (approval, fulfilment, transit, total). dt is added by the
-- warehouse.
-- Sources: lake.shop_orders and lake.shop_deliveries at the run's partition (snapshots).
-- Stages: approval = purchased → approved, fulfilment = approved → shipped, transit = shipped →
-- delivered, total = purchased → delivered; hours, from epoch seconds so every engine agrees.
-- An order counts on the UTC day it was delivered; canceled orders have no delivery.
WITH delivered AS (
    SELECT EXTRACT(EPOCH FROM o.purchased_at) AS purchased,
           EXTRACT(EPOCH FROM o.approved_at) AS approved,
           EXTRACT(EPOCH FROM o.shipped_at) AS shipped,
           EXTRACT(EPOCH FROM d.delivered_at) AS delivered
    FROM lake.shop_orders o
    JOIN lake.shop_deliveries d ON d.order_id = o.order_id AND d.dt = o.dt
    WHERE o.dt = {run_date}
      AND d.delivered_at IS NOT NULL
      AND CAST(d.delivered_at AS DATE) = {run_date}
),
stages AS (
    SELECT 1 AS stage_order, 'approval' AS stage, (approved - purchased) / 3600.0 AS hours FROM delivered
    UNION ALL
    SELECT 2 AS stage_order, 'fulfilment' AS stage, (shipped - approved) / 3600.0 AS hours FROM delivered
    UNION ALL
    SELECT 3 AS stage_order, 'transit' AS stage, (delivered - shipped) / 3600.0 AS hours FROM delivered
    UNION ALL
    SELECT 4 AS stage_order, 'total' AS stage, (delivered - purchased) / 3600.0 AS hours FROM delivered
)
SELECT stage_order,
       stage,
       count(hours) AS orders,
       avg(hours) AS avg_hours,
       min(hours) AS min_hours,
       max(hours) AS max_hours
FROM stages
GROUP BY stage_order, stage
