-- orders.session and orders.cl_ord_id compare byte by byte (COLLATE "C").
--
-- They are the key of orders_session_clordid, which every new order enters. With the
-- database's collation (C.UTF-8 on the embedded server, a libc locale elsewhere) each
-- comparison in that index goes through strcoll on NUL-terminated copies of both strings;
-- "C" compares with memcmp. perf on the persistence writer's backend put text comparison at
-- ~4% of its CPU, nearly all of it this index. Identifiers have no linguistic order to
-- keep: equality lookups give the same rows, and ORDER BY on them becomes byte order.
-- The index is rebuilt (ALTER COLUMN TYPE); the table is not rewritten.
DROP VIEW orders_view;

ALTER TABLE orders
    ALTER COLUMN session TYPE text COLLATE "C",
    ALTER COLUMN cl_ord_id TYPE text COLLATE "C";

CREATE VIEW orders_view AS
SELECT o.order_id, o.account_id, a.account_code AS account, o.instrument_id, s.symbol,
       CASE o.side WHEN 0 THEN 'buy' WHEN 1 THEN 'sell' END AS side,
       (ARRAY['market', 'limit', 'stop', 'stop_limit'])[o.ord_type + 1] AS ord_type,
       (ARRAY['DAY', 'GTC', 'IOC', 'FOK', 'GTD'])[o.tif + 1] AS tif,
       o.status, o.triggered,
       venue_decimal(o.price_units, s.price_scale) AS price,
       venue_decimal(o.qty_units, s.qty_scale) AS qty,
       venue_decimal(o.stop_price_units, s.price_scale) AS stop_price,
       venue_decimal(o.display_qty_units, s.qty_scale) AS display_qty,
       venue_decimal(o.cum_qty_units, s.qty_scale) AS cum_qty,
       venue_decimal(o.leaves_qty_units, s.qty_scale) AS leaves_qty,
       o.cl_ord_id, o.orig_cl_ord_id, o.session, o.created_at, o.updated_at
FROM orders o
LEFT JOIN instrument_scales s ON s.instrument_id = o.instrument_id
LEFT JOIN accounts a ON a.account_id = o.account_id;
