-- Bounded logs: refusals repeated within a minute are stored as one sign-in
-- row with a count and the time last seen; the caller's IP address is kept
-- to aggregate by source; retention deletes by time, so both logs get an
-- index on it.
ALTER TABLE sign_ins ADD COLUMN count BIGINT NOT NULL DEFAULT 1;
ALTER TABLE sign_ins ADD COLUMN last_seen BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sign_ins ADD COLUMN source TEXT NOT NULL DEFAULT '';
UPDATE sign_ins SET last_seen = created_at;
CREATE INDEX sign_ins_last_seen ON sign_ins(last_seen);
CREATE INDEX activity_log_time ON activity_log(created_at);
