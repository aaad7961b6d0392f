-- Key Vault soft-delete of secrets: a deleted secret keeps its versions,
-- marked with when it was deleted and when it is purged, until it is
-- recovered or purged. 0 is a live secret; rows stored before this column
-- are live.
ALTER TABLE secrets ADD COLUMN deleted_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE secrets ADD COLUMN purge_at BIGINT NOT NULL DEFAULT 0;
