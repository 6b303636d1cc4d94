-- Core reference data: assets, instruments, firms, accounts, users, FIX sessions.
-- Money and sizes are exact NUMERIC at rest (Decimal at the SQL edge); the engine works in
-- integer ticks/lots/units derived from the increments stored here.

CREATE TABLE assets (
    asset_id    serial UNIQUE,  -- the engine's integer asset id
    code        text PRIMARY KEY,
    decimals    integer NOT NULL CHECK (decimals BETWEEN 0 AND 18)
);

CREATE TABLE instruments (
    instrument_id   serial PRIMARY KEY,  -- the engine's integer instrument id
    symbol          text NOT NULL UNIQUE,
    base            text NOT NULL REFERENCES assets(code),
    quote           text NOT NULL REFERENCES assets(code),
    tick_size       numeric NOT NULL CHECK (tick_size > 0),
    lot_size        numeric NOT NULL CHECK (lot_size > 0),
    min_qty         numeric NOT NULL DEFAULT 0,
    max_qty         numeric NOT NULL,
    price_band_pct  numeric NOT NULL CHECK (price_band_pct > 0),
    reference_price numeric NOT NULL DEFAULT 0,
    trading_state   text NOT NULL DEFAULT 'open' CHECK (trading_state IN ('open', 'halted', 'closed')),
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE firms (
    firm_id     text PRIMARY KEY,
    name        text NOT NULL DEFAULT '',
    killed      boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE accounts (
    account_id      serial PRIMARY KEY,  -- the engine's integer account id (0 = fee account)
    account_code    text NOT NULL UNIQUE,
    firm_id         text NOT NULL REFERENCES firms(firm_id),
    stp_group       text NOT NULL DEFAULT '',
    maker_fee_bps   integer NOT NULL DEFAULT 0,
    taker_fee_bps   integer NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    username        text PRIMARY KEY,
    firm_id         text NOT NULL REFERENCES firms(firm_id),
    password_hash   text NOT NULL CHECK (password_hash LIKE '$argon2%'),
    role            text NOT NULL DEFAULT 'trader' CHECK (role IN ('trader', 'broker', 'operator')),
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE fix_sessions (
    session_id          text PRIMARY KEY,  -- BeginString:SenderCompID->TargetCompID (venue side)
    begin_string        text NOT NULL,
    sender_comp_id      text NOT NULL,
    target_comp_id      text NOT NULL,
    default_appl_ver_id text NOT NULL DEFAULT '',
    username            text REFERENCES users(username),
    account_code        text REFERENCES accounts(account_code),
    role                text NOT NULL DEFAULT 'order_entry',
    UNIQUE (begin_string, sender_comp_id, target_comp_id)
);
