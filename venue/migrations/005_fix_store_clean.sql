-- Whether the session's store was closed cleanly. The store keeps state in memory and
-- writes it in batches, so after a crash the last few messages sent may be missing; a store
-- that opens after an unclean stop skips its sender sequence ahead (see
-- fix_gateway/stores/postgres.py) so no MsgSeqNum the counterparty may have seen is reused.
ALTER TABLE fix_session_state ADD COLUMN clean boolean NOT NULL DEFAULT true;
