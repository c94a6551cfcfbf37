-- The advisor benchmark's workload on TPC-H (valid at SF0.1 and SF1): selective
-- application and dashboard queries an index can help, then wide aggregates it cannot.

-- name: orders_of_customer_in_range
SELECT o_orderkey, o_orderdate, o_totalprice FROM orders
WHERE o_custkey = 1234 AND o_orderdate BETWEEN DATE '1994-01-01' AND DATE '1997-12-31'
ORDER BY o_orderdate;

-- name: latest_orders_of_customer
SELECT o_orderkey, o_orderdate, o_totalprice FROM orders
WHERE o_custkey = 4711 ORDER BY o_orderdate DESC LIMIT 10;

-- name: customer_order_totals
SELECT count(*), sum(o_totalprice) FROM orders WHERE o_custkey = 999;

-- name: line_items_of_order
SELECT l_linenumber, l_partkey, l_quantity, l_extendedprice FROM lineitem
WHERE l_orderkey = 35943;

-- name: line_items_of_customer
SELECT l.l_partkey, l.l_quantity, l.l_extendedprice FROM orders o
JOIN lineitem l ON l.l_orderkey = o.o_orderkey
WHERE o.o_custkey = 1234;

-- name: sales_of_part
SELECT l_orderkey, l_quantity, l_extendedprice FROM lineitem WHERE l_partkey = 1234;

-- name: latest_shipments_of_part
SELECT l_orderkey, l_shipdate, l_quantity FROM lineitem
WHERE l_partkey = 555 ORDER BY l_shipdate DESC LIMIT 5;

-- name: supplier_shipments_in_month
SELECT l_orderkey, l_partkey, l_shipdate FROM lineitem
WHERE l_suppkey = 77 AND l_shipdate >= DATE '1996-03-01' AND l_shipdate < DATE '1996-04-01';

-- name: air_receipts_on_day
SELECT l_orderkey, l_linenumber FROM lineitem
WHERE l_receiptdate = DATE '1996-03-15' AND l_shipmode = 'AIR';

-- name: parts_by_brand_type_size
SELECT p_partkey, p_name, p_retailprice FROM part
WHERE p_brand = 'Brand#42' AND p_type = 'LARGE BRUSHED TIN' AND p_size = 17;

-- name: parts_by_brand_container
SELECT p_partkey, p_name FROM part WHERE p_brand = 'Brand#12' AND p_container = 'SM BOX';

-- name: parts_supplied_by_supplier
SELECT ps_partkey, ps_availqty, ps_supplycost FROM partsupp WHERE ps_suppkey = 77;

-- name: suppliers_in_nation
SELECT s.s_suppkey, s.s_name, s.s_acctbal FROM supplier s
JOIN nation n ON n.n_nationkey = s.s_nationkey WHERE n.n_name = 'GERMANY';

-- name: suppliers_in_debt_in_nation
SELECT s_suppkey, s_name, s_acctbal FROM supplier WHERE s_nationkey = 3 AND s_acctbal < 0;

-- name: recent_orders
SELECT o_orderkey, o_custkey, o_orderdate, o_totalprice FROM orders
ORDER BY o_orderdate DESC LIMIT 20;

-- name: recent_urgent_orders
SELECT o_orderkey, o_custkey, o_orderdate FROM orders
WHERE o_orderpriority = '1-URGENT' ORDER BY o_orderdate DESC LIMIT 20;

-- name: open_orders_of_clerk
SELECT o_orderkey, o_totalprice FROM orders
WHERE o_clerk = 'Clerk#000000210' AND o_orderstatus = 'O';

-- name: orders_on_day
SELECT count(*) FROM orders WHERE o_orderdate = DATE '1995-03-15';

-- name: customer_by_phone
SELECT c_custkey, c_name, c_acctbal FROM customer WHERE c_phone = '11-742-434-6436';

-- name: top_customers_of_segment_in_nation
SELECT c_custkey, c_name, c_acctbal FROM customer
WHERE c_nationkey = 7 AND c_mktsegment = 'BUILDING' ORDER BY c_acctbal DESC LIMIT 10;

-- name: wide_pricing_summary
SELECT l_returnflag, l_linestatus, sum(l_quantity), sum(l_extendedprice),
       sum(l_extendedprice * (1 - l_discount)), avg(l_discount), count(*)
FROM lineitem WHERE l_shipdate <= DATE '1998-09-02'
GROUP BY l_returnflag, l_linestatus ORDER BY l_returnflag, l_linestatus;

-- name: wide_revenue_per_year
SELECT extract(year FROM o_orderdate) AS year, sum(o_totalprice) FROM orders
GROUP BY 1 ORDER BY 1;

-- name: wide_segment_balances
SELECT c_mktsegment, count(*), avg(c_acctbal) FROM customer GROUP BY 1 ORDER BY 1;
