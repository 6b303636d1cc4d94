-- FIX message store in blocks (fix_gateway/stores/postgres.py): one row per flush holding
-- every message of the flush, instead of one row per message. PostgreSQL's cost is per row
-- (heap tuple, index entries, WAL record), so at thousands of ExecutionReports a second the
-- per-message rows were the larger part of the database's CPU (bench/results/e2e-fix-store-
-- blocks-*.json). A block's ``raw`` is its messages in sequence order, each as
-- seq (int8, big-endian) || length (int4, big-endian) || the message's bytes.
CREATE TABLE fix_message_blocks (
    session_id text    NOT NULL,
    first_seq  bigint  NOT NULL,
    last_seq   bigint  NOT NULL,
    n          integer NOT NULL CHECK (n >= 1),
    -- Write order: where blocks overlap (a retried flush whose first attempt did commit,
    -- numbers reused without a reset) the copy written later wins.
    written    bigserial PRIMARY KEY,
    raw        bytea   NOT NULL
);
CREATE INDEX fix_message_blocks_first ON fix_message_blocks (session_id, first_seq);
CREATE INDEX fix_message_blocks_last ON fix_message_blocks (session_id, last_seq);

-- lz4 where the server has it (cheaper than the default pglz; FIX text compresses well).
DO $$
BEGIN
    EXECUTE 'ALTER TABLE fix_message_blocks ALTER COLUMN raw SET COMPRESSION lz4';
EXCEPTION WHEN OTHERS THEN
    NULL;
END $$;

INSERT INTO fix_message_blocks (session_id, first_seq, last_seq, n, raw)
SELECT session_id, seq, seq, 1, int8send(seq) || int4send(length(raw)) || raw
FROM fix_messages ORDER BY session_id, seq;

DROP TABLE fix_messages;

-- For operators and ad-hoc SQL: the stored messages one row each, as the old table had them
-- (filter by session_id; the store itself reads the blocks).
CREATE FUNCTION fix_block_messages(block bytea) RETURNS TABLE (seq bigint, raw bytea)
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
    off   integer := 0;
    len   integer;
    total integer := length(block);
BEGIN
    WHILE off + 12 <= total LOOP
        seq := ('x' || encode(substring(block FROM off + 1 FOR 8), 'hex'))::bit(64)::bigint;
        len := ('x' || encode(substring(block FROM off + 9 FOR 4), 'hex'))::bit(32)::integer;
        raw := substring(block FROM off + 13 FOR len);
        RETURN NEXT;
        off := off + 12 + len;
    END LOOP;
END $$;

CREATE VIEW fix_messages AS
SELECT DISTINCT ON (b.session_id, m.seq) b.session_id, m.seq, m.raw
FROM fix_message_blocks b CROSS JOIN LATERAL fix_block_messages(b.raw) m
ORDER BY b.session_id, m.seq, b.written DESC;
