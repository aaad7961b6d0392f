-- A resource group's managedBy: the ID of the resource that manages it,
-- as the group's PUT declared it (Terraform's managed_by), answered back.
-- Groups stored before this column read as managed by nothing.
ALTER TABLE resource_groups ADD COLUMN managed_by TEXT NOT NULL DEFAULT '';
