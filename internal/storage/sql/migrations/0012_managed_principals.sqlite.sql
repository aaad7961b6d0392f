-- A service principal that stands for a resource's system-assigned managed
-- identity (a machine's, a cluster's) records that resource: Graph shows it
-- as servicePrincipalType ManagedIdentity, and it refuses credentials and
-- deletion through the directory, as Entra's do.
ALTER TABLE service_principals ADD COLUMN managed_resource_id TEXT NOT NULL DEFAULT '';
UPDATE service_principals SET managed_resource_id = COALESCE((SELECT '/subscriptions/' || m.subscription_id || '/resourceGroups/' || m.resource_group || '/providers/Microsoft.HybridCompute/machines/' || m.name FROM machines m WHERE lower(json_extract(m.spec, '$.systemPrincipalId')) = service_principals.object_id), '') WHERE managed_resource_id = '';
UPDATE service_principals SET managed_resource_id = COALESCE((SELECT '/subscriptions/' || c.subscription_id || '/resourceGroups/' || c.resource_group || '/providers/Microsoft.ContainerService/managedClusters/' || c.name FROM clusters c WHERE lower(json_extract(c.spec, '$.systemPrincipalId')) = service_principals.object_id), '') WHERE managed_resource_id = '';
