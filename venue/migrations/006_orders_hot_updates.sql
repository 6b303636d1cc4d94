-- Orders: secondary indexes that pay for themselves, and room for HOT updates.
--
-- An order row is inserted once and updated by its later events (fills, cancel, expiry,
-- replace, trigger). An UPDATE that changes an indexed column writes a new tuple plus an
-- entry in every index of the table; one that changes no indexed column and finds room on
-- its page is a HOT update: no index entry at all. `status` changes on nearly every
-- update, and it was in two of the three secondary indexes, so every update was a full
-- one. Measured with bench.writer (bench/results/writer-*.json): PostgreSQL CPU per
-- request -17% on bench.e2e's flow.
--
-- - orders_instrument (instrument_id, status): dropped. A venue has a handful of
--   instruments, so the instrument alone selects nothing; its live orders are the engine's
--   book (and `status IN ('new', 'partially_filled')` on the table is a scan).
-- - orders_account_status (account_id, status) -> orders_account (account_id, order_id):
--   an account's orders, newest first by order id; filter the status on the rows.
-- - orders_session_clordid (session, cl_ord_id): kept (a ClOrdID lookup). A Replace
--   changes cl_ord_id, so replaces stay full updates.
-- - fillfactor 80: new pages keep a fifth free for the updated versions of their orders
--   (existing pages are not rewritten; VACUUM FULL would).
DROP INDEX orders_instrument;
DROP INDEX orders_account_status;
CREATE INDEX orders_account ON orders (account_id, order_id);
ALTER TABLE orders SET (fillfactor = 80);
