-- Mart sales_by_category: the day's sales per product category, from the shop's database.
-- Grain: one row per category per dt. dt is added by the warehouse, not selected here.
-- Sources: lake.shop_orders, lake.shop_order_items, lake.shop_products, lake.shop_categories
-- (full snapshots, each read at the run's partition). Canceled orders are left out; an order
-- counts on the day it was purchased, in UTC. revenue is quantity x unit price, freight apart.
SELECT c.name AS category,
       count(DISTINCT o.order_id) AS orders,
       sum(i.quantity) AS units,
       sum(i.quantity * i.unit_price) AS revenue,
       sum(i.freight) AS freight
FROM lake.shop_orders o
JOIN lake.shop_order_items i ON i.order_id = o.order_id AND i.dt = o.dt
JOIN lake.shop_products p ON p.product_id = i.product_id AND p.dt = o.dt
JOIN lake.shop_categories c ON c.category_id = p.category_id AND c.dt = o.dt
WHERE o.dt = {run_date}
  AND o.status <> 'canceled'
  AND CAST(o.purchased_at AS DATE) = {run_date}
GROUP BY c.name
