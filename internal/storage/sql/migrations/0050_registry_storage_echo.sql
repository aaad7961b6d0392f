-- The JSON a registry's or storage account's PUT sent beyond what Ward
-- models (publicNetworkAccess, networkRuleSet, zoneRedundancy, policies;
-- minimumTlsVersion, networkAcls, allowBlobPublicAccess, ...), merged with
-- later PATCHes and answered back, so that what the user declared reads
-- back unchanged (issue 22, as 0022 did for vaults). Rows stored before
-- this column read as having sent nothing more.
ALTER TABLE registries ADD COLUMN echo TEXT NOT NULL DEFAULT '';
ALTER TABLE storage_accounts ADD COLUMN echo TEXT NOT NULL DEFAULT '';
