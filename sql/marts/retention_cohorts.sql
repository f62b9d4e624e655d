-- Mart retention_cohorts: weekly retention of the shop's customers.
-- Grain: one row per (cohort_week, week_number) per dt, for the cohorts of the 8 weeks ending
-- with the run date's week. dt is added by the warehouse.
-- Sources: lake.shop_orders at the run's partition (a snapshot with the whole order history).
-- cohort_week is the Monday of the week of a customer's first non-canceled order (UTC);
-- week_number 0 is that week; customers are the cohort's customers who ordered in that week;
-- retention is customers / cohort_customers. Weeks are counted from epoch seconds
-- (345600 s = Monday 1970-01-05), so every engine cuts them alike.
WITH orders AS (
    SELECT customer_id,
           purchased_at,
           CAST(floor((EXTRACT(EPOCH FROM purchased_at) - 345600) / 604800) AS BIGINT) AS week_index
    FROM lake.shop_orders
    WHERE dt = {run_date}
      AND status <> 'canceled'
      AND CAST(purchased_at AS DATE) <= {run_date}
),
firsts AS (
    SELECT customer_id, min(week_index) AS cohort_index, min(purchased_at) AS first_order_at
    FROM orders
    GROUP BY customer_id
),
cohorts AS (
    SELECT cohort_index,
           CAST(date_trunc('week', min(first_order_at)) AS DATE) AS cohort_week,
           count(*) AS cohort_customers
    FROM firsts
    GROUP BY cohort_index
),
activity AS (
    SELECT DISTINCT o.customer_id, f.cohort_index, o.week_index - f.cohort_index AS week_number
    FROM orders o
    JOIN firsts f ON f.customer_id = o.customer_id
)
SELECT c.cohort_week,
       a.week_number,
       c.cohort_customers,
       count(*) AS customers,
       count(*) * 1.0 / c.cohort_customers AS retention
FROM activity a
JOIN cohorts c ON c.cohort_index = a.cohort_index
WHERE c.cohort_index > CAST(floor((EXTRACT(EPOCH FROM CAST({run_date} AS TIMESTAMP)) - 345600) / 604800) AS BIGINT) - 8
GROUP BY c.cohort_week, a.week_number, c.cohort_customers
