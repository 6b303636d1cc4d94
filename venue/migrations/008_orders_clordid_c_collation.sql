-- orders.session and orders.cl_ord_id compare byte by byte (COLLATE "C").
--
-- They are the key of orders_session_clordid, which every new order enters. With the
-- database's collation (C.UTF-8 on the embedded server, a libc locale elsewhere) each
-- comparison in that index goes through strcoll on NUL-terminated copies of both strings;
-- "C" compares with memcmp. perf on the persistence writer's backend put text comparison at
-- ~4% of its CPU, nearly all of it this index. Identifiers have no linguistic order to
-- keep: equality lookups give the same rows, and ORDER BY on them becomes byte order.
-- The index is rebuilt (ALTER COLUMN TYPE); the table is not rewritten. orders_view reads
-- the two columns, which PostgreSQL does not let a type change pass under, so it is
-- dropped and created again from its own stored definition (unchanged).
DO $$
DECLARE
    view_sql text := pg_get_viewdef('orders_view'::regclass);
BEGIN
    DROP VIEW orders_view;
    ALTER TABLE orders
        ALTER COLUMN session TYPE text COLLATE "C",
        ALTER COLUMN cl_ord_id TYPE text COLLATE "C";
    EXECUTE 'CREATE VIEW orders_view AS ' || view_sql;
END $$;
