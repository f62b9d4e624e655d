-- Mart product_portfolio: each category placed in a portfolio matrix by sales volume and
-- average unit price over the 28 days ending on the run date.
-- Grain: one row per category per dt. dt is added by the warehouse.
-- Sources: lake.shop_orders, lake.shop_order_items, lake.shop_products, lake.shop_categories
-- at the run's partition (snapshots). Canceled orders are left out.
-- The split is at the median over categories (for an even count, the mean of the two middle
-- values), computed with row_number so that every engine agrees; a value equal to the median
-- counts as high. Star: high volume and high price; Volume driver: high volume, low price;
-- Niche: low volume, high price; Question mark: low volume and low price.
WITH sales AS (
    SELECT c.name AS category,
           sum(i.quantity) AS units,
           sum(i.quantity * i.unit_price) AS revenue
    FROM lake.shop_orders o
    JOIN lake.shop_order_items i ON i.order_id = o.order_id AND i.dt = o.dt
    JOIN lake.shop_products p ON p.product_id = i.product_id AND p.dt = o.dt
    JOIN lake.shop_categories c ON c.category_id = p.category_id AND c.dt = o.dt
    WHERE o.dt = {run_date}
      AND o.status <> 'canceled'
      AND CAST(o.purchased_at AS DATE) > {run_date} - INTERVAL '28 days'
      AND CAST(o.purchased_at AS DATE) <= {run_date}
    GROUP BY c.name
),
ranked AS (
    SELECT category,
           units,
           revenue,
           revenue * 1.0 / units AS avg_unit_price,
           row_number() OVER (ORDER BY units, category) AS units_rank,
           row_number() OVER (ORDER BY revenue * 1.0 / units, category) AS price_rank,
           count(*) OVER () AS categories
    FROM sales
),
medians AS (
    SELECT avg(CASE WHEN units_rank IN ((categories + 1) / 2, (categories + 2) / 2) THEN units * 1.0 END) AS median_units,
           avg(CASE WHEN price_rank IN ((categories + 1) / 2, (categories + 2) / 2) THEN avg_unit_price END) AS median_price
    FROM ranked
)
SELECT r.category,
       r.units,
       r.revenue,
       r.avg_unit_price,
       CASE
           WHEN r.units >= m.median_units AND r.avg_unit_price >= m.median_price THEN 'Star'
           WHEN r.units >= m.median_units THEN 'Volume driver'
           WHEN r.avg_unit_price >= m.median_price THEN 'Niche'
           ELSE 'Question mark'
       END AS quadrant
FROM ranked r
CROSS JOIN medians m
