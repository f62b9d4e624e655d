-- Mart daily_sales: the shop's sales per purchase day over the 28 days ending on the run date,
-- the trend behind the report's line chart.
-- Grain: one row per purchase day per dt (at most 28). dt is added by the warehouse.
-- Sources: lake.shop_orders and lake.shop_order_items at the run's partition (snapshots hold
-- every order, so one day's export gives the whole window). Canceled orders are left out; an
-- order counts on the day it was purchased, in UTC; a day without orders has no row.
SELECT CAST(o.purchased_at AS DATE) AS day,
       count(DISTINCT o.order_id) AS orders,
       sum(i.quantity) AS units,
       sum(i.quantity * i.unit_price) AS revenue
FROM lake.shop_orders o
JOIN lake.shop_order_items i ON i.order_id = o.order_id AND i.dt = o.dt
WHERE o.dt = {run_date}
  AND o.status <> 'canceled'
  AND CAST(o.purchased_at AS DATE) > {run_date} - INTERVAL '28 days'
  AND CAST(o.purchased_at AS DATE) <= {run_date}
GROUP BY CAST(o.purchased_at AS DATE)
