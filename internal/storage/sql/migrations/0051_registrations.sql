-- Registration states of resource provider namespaces and preview
-- features per subscription (az provider/feature register and
-- unregister). Ward gates nothing on them; a namespace or feature without
-- a row is Registered. feature is '' for a namespace's own state.
CREATE TABLE registrations (
    sub_key         TEXT NOT NULL REFERENCES subscriptions(id) ON DELETE CASCADE,
    namespace_key   TEXT NOT NULL,
    feature_key     TEXT NOT NULL,
    subscription_id TEXT NOT NULL,
    namespace       TEXT NOT NULL,
    feature         TEXT NOT NULL,
    state           TEXT NOT NULL,
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (sub_key, namespace_key, feature_key)
);
