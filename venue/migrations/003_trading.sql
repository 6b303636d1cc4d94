-- Trading history: orders, executions, trades, rejects, balance movements, mass cancels,
-- written by the persistence writer (persistence/) from the engine's event stream VENUE_EVT.
--
-- Raw integers exactly as the engine reports them (docs/engine.md "Units and money"):
--   *_units columns of prices  : engine price units (multiples of the instrument tick)
--   *_units columns of sizes   : base-asset minor units (multiples of the lot)
--   fee / amount / balance     : asset minor units (fees: the quote asset)
-- The *_view views convert them to NUMERIC (Decimal at the SQL edge) through
-- instrument_scales, the single place that states the scales (see its comment).
--
-- Position of an event: (evt_seq, evt_idx).
--   evt_seq = Envelope.answers: the VENUE_CMD stream sequence the event batch answers. It is
--             the same when the engine service re-publishes a batch (replay after restart),
--             so keys built on it make every insert idempotent.
--   evt_idx = index of the event in the batch body (the engine is deterministic, so a
--             re-published batch has the same events in the same order).
-- engine_seq = the engine command seq echoed by the event (RequestMeta.seq).

CREATE TABLE orders (
    order_id            bigint PRIMARY KEY,      -- engine order id (gateway-assigned, < 2^63)
    account_id          bigint NOT NULL,         -- accounts.account_id (0 = fee account)
    instrument_id       bigint NOT NULL,         -- instruments.instrument_id
    side                smallint NOT NULL,       -- 0 buy, 1 sell
    ord_type            smallint NOT NULL,       -- 0 market, 1 limit, 2 stop, 3 stop-limit
    tif                 smallint NOT NULL,       -- 0 DAY, 1 GTC, 2 IOC, 3 FOK, 4 GTD
    flags               smallint NOT NULL,       -- bit 0 post-only
    stp                 smallint NOT NULL,       -- venue.enums.SelfTradePrevention index
    price_units         bigint NOT NULL,         -- limit price (market/stop: protection price)
    qty_units           bigint NOT NULL,         -- total order quantity (after replaces)
    stop_price_units    bigint NOT NULL,
    display_qty_units   bigint NOT NULL,         -- 0: not an iceberg
    expire_time_ns      bigint NOT NULL,         -- GTD only, else 0
    status              text NOT NULL CHECK (status IN
                            ('new', 'partially_filled', 'filled', 'canceled', 'expired')),
    triggered           boolean NOT NULL DEFAULT false,  -- stop orders: trigger seen
    cum_qty_units       bigint NOT NULL,
    leaves_qty_units    bigint NOT NULL,
    cl_ord_id           text,                    -- ClOrdID of the NewOrder / latest Replace
    orig_cl_ord_id      text,                    -- the ClOrdID the latest Replace replaced
    session             text,                    -- FIX session (RequestMeta) that entered it
    account_code        text,                    -- accounts.account_code as the request named it
    source              text,                    -- RequestMeta.source ("fix", "cli", ...)
    created_evt_seq     bigint NOT NULL,
    created_evt_idx     integer NOT NULL,
    updated_evt_seq     bigint NOT NULL,         -- position of the last event applied:
    updated_evt_idx     integer NOT NULL,        -- an upsert never moves it backwards
    created_at          timestamptz NOT NULL DEFAULT now(),  -- writer time (events carry none)
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX orders_account_status ON orders (account_id, status);
CREATE INDEX orders_instrument ON orders (instrument_id, status);
CREATE INDEX orders_session_clordid ON orders (session, cl_ord_id);

-- One row per order-affecting event and order: a Trade gives two rows (leg 0 taker,
-- leg 1 maker); every other order event one row (leg 0).
CREATE TABLE executions (
    evt_seq             bigint NOT NULL,
    evt_idx             integer NOT NULL,
    leg                 smallint NOT NULL,
    engine_seq          bigint NOT NULL,
    order_id            bigint NOT NULL,
    account_id          bigint NOT NULL,
    instrument_id       bigint NOT NULL,
    exec_type           text NOT NULL CHECK (exec_type IN
                            ('new', 'trade', 'canceled', 'replaced', 'expired', 'triggered')),
    exec_id             bigint,                  -- trades.exec_id for exec_type 'trade'
    last_qty_units      bigint NOT NULL,         -- trade: fill qty; canceled/expired: canceled qty
    last_price_units    bigint NOT NULL,         -- trade: price; replaced: new price;
                                                 -- triggered: last trade price; new: order price
    leaves_qty_units    bigint,                  -- NULL: unknown (trigger of an unknown order)
    cum_qty_units       bigint,                  -- NULL when the writer did not know the order
    order_qty_units     bigint,                  -- new / replaced: the order's total quantity
    reason              smallint,                -- venue.rejects.CancelReason (canceled/expired)
    status              text,                    -- order status after the event (NULL: unknown)
    cl_ord_id           text,
    orig_cl_ord_id      text,
    session             text,
    written_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (evt_seq, evt_idx, leg)
);
CREATE INDEX executions_order ON executions (order_id, evt_seq, evt_idx);

CREATE TABLE trades (
    exec_id             bigint PRIMARY KEY,      -- engine-wide, from 1, +1 per trade
    evt_seq             bigint NOT NULL,
    evt_idx             integer NOT NULL,
    engine_seq          bigint NOT NULL,
    instrument_id       bigint NOT NULL,
    price_units         bigint NOT NULL,
    qty_units           bigint NOT NULL,
    maker_order_id      bigint NOT NULL,
    taker_order_id      bigint NOT NULL,
    maker_account_id    bigint NOT NULL,
    taker_account_id    bigint NOT NULL,
    maker_fee_units     bigint NOT NULL,         -- quote-asset minor units
    taker_fee_units     bigint NOT NULL,
    maker_leaves_units  bigint NOT NULL,
    taker_leaves_units  bigint NOT NULL,
    aggressor_side      smallint NOT NULL,       -- 0 buy, 1 sell (the taker's side)
    written_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX trades_instrument ON trades (instrument_id, exec_id);
CREATE INDEX trades_maker_account ON trades (maker_account_id, exec_id);
CREATE INDEX trades_taker_account ON trades (taker_account_id, exec_id);

CREATE TABLE rejects (
    evt_seq             bigint NOT NULL,
    evt_idx             integer NOT NULL,
    engine_seq          bigint NOT NULL,
    command             smallint NOT NULL,       -- engine.commands.CmdType
    ref_id              bigint NOT NULL,         -- order / withdrawal / account / instrument id
    account_id          bigint NOT NULL,
    instrument_id       bigint NOT NULL,
    code                integer NOT NULL,        -- venue.rejects.RejectCode
    cl_ord_id           text,
    orig_cl_ord_id      text,
    session             text,
    account_code        text,
    symbol              text,
    written_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (evt_seq, evt_idx)
);
CREATE INDEX rejects_account ON rejects (account_id, evt_seq);

CREATE TABLE balance_movements (
    evt_seq             bigint NOT NULL,
    evt_idx             integer NOT NULL,
    engine_seq          bigint NOT NULL,
    kind                text NOT NULL CHECK (kind IN
                            ('deposit', 'withdraw_held', 'withdraw_confirmed', 'withdraw_released')),
    account_id          bigint NOT NULL,
    asset_id            bigint NOT NULL,         -- assets.asset_id
    withdrawal_id       bigint,                  -- NULL for deposits
    amount_units        bigint NOT NULL,         -- asset minor units
    available_units     bigint NOT NULL,         -- account balance after the movement
    held_units          bigint,                  -- NULL for deposits (the event has no held)
    written_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (evt_seq, evt_idx)
);
CREATE INDEX balance_movements_account ON balance_movements (account_id, asset_id, evt_seq);

CREATE TABLE mass_cancels (
    evt_seq             bigint NOT NULL,
    evt_idx             integer NOT NULL,
    engine_seq          bigint NOT NULL,
    account_id          bigint NOT NULL,         -- 0: every account
    instrument_id       bigint NOT NULL,         -- 0: every instrument
    side                smallint NOT NULL,       -- 0 buy, 1 sell, 2 both
    canceled_count      bigint NOT NULL,
    cl_ord_id           text,
    session             text,
    written_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (evt_seq, evt_idx)
);

-- Where each writer is, per event source (Envelope.source, one per engine shard):
-- last_evt_seq is the de-duplication watermark (a batch with answers <= it was applied);
-- stream_seq is the VENUE_EVT stream sequence of that batch; the writer resumes reading at
-- max(stream_seq) + 1 over its rows. Updated in the same transaction as the rows.
CREATE TABLE writer_progress (
    writer              text NOT NULL,
    source              text NOT NULL,
    last_evt_seq        bigint NOT NULL,
    stream_seq          bigint NOT NULL,
    updated_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (writer, source)
);

-- The scales that turn raw integers into decimals, per instrument, as venue/instruments.py
-- defines the engine's units: price units are 10^-price_scale quote per base with
-- price_scale = the decimal places of tick_size (tick 0.01 -> 123.45 is 12345 units; tick 0.05
-- -> price_scale 2, tick 5 units); quantities are base-asset minor units (10^-decimals);
-- values and fees are quote-asset minor units. Every *_view goes through this view: if the
-- mapping ever changes, CREATE OR REPLACE it in a later migration.
CREATE VIEW instrument_scales AS
SELECT i.instrument_id,
       i.symbol,
       min_scale(i.tick_size) AS price_scale,
       b.decimals             AS qty_scale,
       q.decimals             AS quote_scale
FROM instruments i
JOIN assets b ON b.code = i.base
JOIN assets q ON q.code = i.quote;

-- raw integer -> exact NUMERIC with `scale` decimal places: units * 10^-scale.
CREATE FUNCTION venue_decimal(units bigint, scale integer) RETURNS numeric
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT round(units::numeric / (10::numeric ^ scale), scale) $$;

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

CREATE VIEW trades_view AS
SELECT t.exec_id, t.instrument_id, s.symbol,
       venue_decimal(t.price_units, s.price_scale) AS price,
       venue_decimal(t.qty_units, s.qty_scale) AS qty,
       venue_decimal(t.price_units, s.price_scale)
           * venue_decimal(t.qty_units, s.qty_scale) AS notional,
       CASE t.aggressor_side WHEN 0 THEN 'buy' WHEN 1 THEN 'sell' END AS aggressor_side,
       t.maker_order_id, t.taker_order_id,
       t.maker_account_id, ma.account_code AS maker_account,
       t.taker_account_id, ta.account_code AS taker_account,
       venue_decimal(t.maker_fee_units, s.quote_scale) AS maker_fee,
       venue_decimal(t.taker_fee_units, s.quote_scale) AS taker_fee,
       t.evt_seq, t.written_at
FROM trades t
LEFT JOIN instrument_scales s ON s.instrument_id = t.instrument_id
LEFT JOIN accounts ma ON ma.account_id = t.maker_account_id
LEFT JOIN accounts ta ON ta.account_id = t.taker_account_id;

CREATE VIEW balance_movements_view AS
SELECT m.evt_seq, m.evt_idx, m.kind, m.account_id, a.account_code AS account,
       m.asset_id, s.code AS asset, m.withdrawal_id,
       venue_decimal(m.amount_units, s.decimals) AS amount,
       venue_decimal(m.available_units, s.decimals) AS available,
       venue_decimal(m.held_units, s.decimals) AS held,
       m.written_at
FROM balance_movements m
LEFT JOIN assets s ON s.asset_id = m.asset_id
LEFT JOIN accounts a ON a.account_id = m.account_id;
