-- FIX session message store (fix_gateway/stores/postgres.py).
-- One row of sequence state per FIX session, and the raw bytes of every application
-- message the venue sent, so a restarted gateway resumes its sequence numbers and can
-- answer ResendRequests. Written in batches by a background task, never per message.

CREATE TABLE IF NOT EXISTS fix_session_state (
    session_id       text        PRIMARY KEY,
    next_sender_seq  bigint      NOT NULL CHECK (next_sender_seq >= 1),
    next_target_seq  bigint      NOT NULL CHECK (next_target_seq >= 1),
    creation_time_ns bigint      NOT NULL,
    updated_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS fix_messages (
    session_id text   NOT NULL,
    seq        bigint NOT NULL,
    raw        bytea  NOT NULL,
    PRIMARY KEY (session_id, seq)
);
