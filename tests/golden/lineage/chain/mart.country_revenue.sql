SELECT country, SUM(revenue) AS revenue, SUM(order_count) AS orders
FROM mart.customer_revenue
GROUP BY country
