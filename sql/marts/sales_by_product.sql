-- Mart sales_by_product: the day's sales per product, with its category.
-- Grain: one row per product sold per dt. dt is added by the warehouse.
-- Sources: lake.shop_orders, lake.shop_order_items, lake.shop_products, lake.shop_categories
-- (full snapshots, each read at the run's partition). Canceled orders are left out; an order
-- counts on the day it was purchased, in UTC. revenue is quantity x unit price, freight apart.
SELECT p.product_id,
       p.isbn13,
       p.title,
       c.name AS category,
       count(DISTINCT o.order_id) AS orders,
       sum(i.quantity) AS units,
       sum(i.quantity * i.unit_price) AS revenue
FROM lake.shop_orders o
JOIN lake.shop_order_items i ON i.order_id = o.order_id AND i.dt = o.dt
JOIN lake.shop_products p ON p.product_id = i.product_id AND p.dt = o.dt
JOIN lake.shop_categories c ON c.category_id = p.category_id AND c.dt = o.dt
WHERE o.dt = {run_date}
  AND o.status <> 'canceled'
  AND CAST(o.purchased_at AS DATE) = {run_date}
GROUP BY p.product_id, p.isbn13, p.title, c.name
