-- The properties a storage account's blobServices/default PUT declared
-- (delete retention, versioning, CORS, change feed, ...), which Ward
-- stores and answers back but does not act on (issue 22). Accounts stored
-- before this column read as having declared none.
ALTER TABLE storage_accounts ADD COLUMN blob_service_echo TEXT NOT NULL DEFAULT '';
