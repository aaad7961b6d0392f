-- The JSON a vault's PUT sent beyond what Ward models (createMode,
-- enableSoftDelete, softDeleteRetentionInDays, publicNetworkAccess, ...),
-- answered back so that what the user declared reads back unchanged.
-- Vaults stored before this column read as having sent nothing more.
-- Numbered 22 (issue 22) so that parallel branches do not collide.
ALTER TABLE vaults ADD COLUMN echo TEXT NOT NULL DEFAULT '';
