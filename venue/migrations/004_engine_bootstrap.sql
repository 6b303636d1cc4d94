-- Which reference data and funding has been turned into engine commands, so `venue up`
-- issues each AddInstrument / AddAccount / Deposit exactly once per venue.
CREATE TABLE engine_bootstrap (
    item        text PRIMARY KEY,  -- 'instrument:BTC-USD', 'account:ALPHA-1', 'deposit:ALPHA-1:USD'
    command_seq bigint NOT NULL,   -- the command-stream sequence that carried it
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Per FIX session: the last event-stream sequence whose reports were handed to the session
-- (sent, or stored for resend). A restarted gateway replays events and sends only what
-- comes after it.
CREATE TABLE fix_delivery (
    session_id  text PRIMARY KEY,
    evt_seq     bigint NOT NULL
);
