-- Activity log: every management write, who did it, and how it ended.
CREATE TABLE activity_log (
    id             TEXT PRIMARY KEY,
    created_at     BIGINT NOT NULL,
    sub_key        TEXT NOT NULL,
    caller_app_id  TEXT NOT NULL,
    caller_oid     TEXT NOT NULL,
    method         TEXT NOT NULL,
    action         TEXT NOT NULL,
    scope          TEXT NOT NULL,
    status_code    BIGINT NOT NULL,
    result         TEXT NOT NULL,
    correlation_id TEXT NOT NULL
);
CREATE INDEX activity_log_sub_time ON activity_log(sub_key, created_at);
