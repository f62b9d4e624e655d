-- Mart late_deliveries: the share of the day's deliveries that came after their estimated date,
-- per carrier.
-- Grain: one row per carrier per dt. dt is added by the warehouse.
-- Sources: lake.shop_deliveries at the run's partition (a snapshot). A delivery counts on the
-- UTC day it arrived; it is late when that day is after estimated_date.
SELECT carrier,
       count(*) AS delivered,
       sum(CASE WHEN CAST(delivered_at AS DATE) > estimated_date THEN 1 ELSE 0 END) AS late,
       sum(CASE WHEN CAST(delivered_at AS DATE) > estimated_date THEN 1 ELSE 0 END) * 1.0
           / count(*) AS late_rate
FROM lake.shop_deliveries
WHERE dt = {run_date}
  AND delivered_at IS NOT NULL
  AND CAST(delivered_at AS DATE) = {run_date}
GROUP BY carrier
