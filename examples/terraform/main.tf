# Workload identity on Ward, declared as platform teams declare it on Azure:
# OpenTofu or Terraform with the unmodified azurerm provider, pointed at
# Ward through metadata_host. See README.md for the environment it needs.

terraform {
  required_providers {
    azurerm = {
      source = "hashicorp/azurerm"
    }
  }
}

variable "metadata_host" {
  description = "Ward's host and port (its public URL without https://), e.g. 127.0.0.1:8443."
  type        = string
}

variable "prefix" {
  description = "A prefix for names that are global in Ward (vaults, registries, storage accounts)."
  type        = string
  default     = "wardtf"
}

variable "location" {
  type    = string
  default = "westeurope"
}

provider "azurerm" {
  features {}
  metadata_host = var.metadata_host
  # Ward's storage data plane takes Entra tokens only, never shared keys.
  storage_use_azuread = true
}

data "azurerm_client_config" "current" {}

resource "azurerm_resource_group" "rg" {
  name     = "${var.prefix}-rg"
  location = var.location
}

# The workload's identity, and the cluster whose service account it trusts.
resource "azurerm_user_assigned_identity" "app" {
  name                = "${var.prefix}-app-id"
  resource_group_name = azurerm_resource_group.rg.name
  location            = azurerm_resource_group.rg.location
}

resource "azurerm_kubernetes_cluster" "aks" {
  name                      = "${var.prefix}-aks"
  location                  = azurerm_resource_group.rg.location
  resource_group_name       = azurerm_resource_group.rg.name
  dns_prefix                = var.prefix
  oidc_issuer_enabled       = true
  workload_identity_enabled = true

  default_node_pool {
    name       = "system"
    node_count = 1
    vm_size    = "Standard_D2s_v3"
  }

  identity {
    type = "SystemAssigned"
  }

  network_profile {
    network_plugin = "azure"
    service_cidr   = "10.2.0.0/24"
    dns_service_ip = "10.2.0.10"
  }

  node_provisioning_profile {
    mode = "Manual"
  }
}

# A second node pool: Ward runs no nodes, so it answers the pool's size,
# labels and mode as declared; its nodes' agents serve the pool's identities.
resource "azurerm_kubernetes_cluster_node_pool" "apps" {
  name                  = "apps"
  kubernetes_cluster_id = azurerm_kubernetes_cluster.aks.id
  vm_size               = "Standard_D2s_v3"
  node_count            = 2
  node_labels = {
    team = "apps"
  }
}

resource "azurerm_federated_identity_credential" "app" {
  name                      = "${var.prefix}-app-fic"
  user_assigned_identity_id = azurerm_user_assigned_identity.app.id
  issuer                    = azurerm_kubernetes_cluster.aks.oidc_issuer_url
  subject                   = "system:serviceaccount:default:workload-identity-sa"
  audience                  = ["api://AzureADTokenExchange"]
}

# A vault in RBAC mode, a secret in it, and the identity allowed to read it
# (a built-in role by name, at the vault).
resource "azurerm_key_vault" "kv" {
  name                       = "${var.prefix}-kv"
  location                   = azurerm_resource_group.rg.location
  resource_group_name        = azurerm_resource_group.rg.name
  tenant_id                  = data.azurerm_client_config.current.tenant_id
  sku_name                   = "standard"
  rbac_authorization_enabled = true
  soft_delete_retention_days = 7
}

resource "azurerm_key_vault_secret" "db" {
  name         = "db-password"
  value        = "s3cr3t"
  key_vault_id = azurerm_key_vault.kv.id
}

resource "azurerm_role_assignment" "app_secrets_user" {
  scope                = azurerm_key_vault.kv.id
  role_definition_name = "Key Vault Secrets User"
  principal_id         = azurerm_user_assigned_identity.app.principal_id
  principal_type       = "ServicePrincipal"
  description          = "The workload reads its vault's secrets."
}

# A custom role, assigned by its ID at the group.
resource "azurerm_role_definition" "vault_reader" {
  name        = "${var.prefix} vault reader"
  scope       = azurerm_resource_group.rg.id
  description = "Reads the group's vaults."

  permissions {
    actions = ["Microsoft.KeyVault/vaults/read"]
  }

  assignable_scopes = [azurerm_resource_group.rg.id]
}

resource "azurerm_role_assignment" "app_vault_reader" {
  scope              = azurerm_resource_group.rg.id
  role_definition_id = azurerm_role_definition.vault_reader.role_definition_resource_id
  principal_id       = azurerm_user_assigned_identity.app.principal_id
  principal_type     = "ServicePrincipal"
}

# A registry the cluster's kubelet identity pulls from. Ward stores and
# answers back the network settings and policies it does not act on, so
# they plan without drift.
resource "azurerm_container_registry" "acr" {
  name                          = "${var.prefix}acr"
  resource_group_name           = azurerm_resource_group.rg.name
  location                      = azurerm_resource_group.rg.location
  sku                           = "Premium"
  public_network_access_enabled = false
  zone_redundancy_enabled       = true
  retention_policy_in_days      = 7

  network_rule_set {
    default_action = "Deny"
    ip_rule {
      action   = "Allow"
      ip_range = "203.0.113.0/24"
    }
  }
}

resource "azurerm_role_assignment" "kubelet_acr_pull" {
  scope                = azurerm_container_registry.acr.id
  role_definition_name = "AcrPull"
  principal_id         = azurerm_kubernetes_cluster.aks.kubelet_identity[0].object_id
  principal_type       = "ServicePrincipal"
}

# A storage account and a container the workload writes blobs to.
resource "azurerm_storage_account" "sa" {
  name                            = "${var.prefix}sa"
  resource_group_name             = azurerm_resource_group.rg.name
  location                        = azurerm_resource_group.rg.location
  account_tier                    = "Standard"
  account_replication_type        = "LRS"
  shared_access_key_enabled       = false
  allow_nested_items_to_be_public = false
  min_tls_version                 = "TLS1_2"
  public_network_access_enabled   = false

  network_rules {
    default_action = "Deny"
    bypass         = ["AzureServices"]
    ip_rules       = ["203.0.113.7"]
  }

  # Stored and answered back as declared; Ward's blob endpoint serves no
  # CORS and keeps no deleted blobs, whatever these say.
  blob_properties {
    cors_rule {
      allowed_origins    = ["https://app.example.com"]
      allowed_methods    = ["GET"]
      allowed_headers    = ["*"]
      exposed_headers    = ["*"]
      max_age_in_seconds = 60
    }
    delete_retention_policy {
      days = 7
    }
  }
}

resource "azurerm_storage_container" "data" {
  name                  = "data"
  storage_account_id    = azurerm_storage_account.sa.id
  container_access_type = "private"
}

resource "azurerm_role_assignment" "app_blob_contributor" {
  scope                = azurerm_storage_account.sa.id
  role_definition_name = "Storage Blob Data Contributor"
  principal_id         = azurerm_user_assigned_identity.app.principal_id
  principal_type       = "ServicePrincipal"
}

# Data sources read back what was declared.
data "azurerm_kubernetes_cluster" "aks" {
  name                = azurerm_kubernetes_cluster.aks.name
  resource_group_name = azurerm_resource_group.rg.name
}

data "azurerm_user_assigned_identity" "app" {
  name                = azurerm_user_assigned_identity.app.name
  resource_group_name = azurerm_resource_group.rg.name
}

# What the workload's ServiceAccount and pod need.
output "oidc_issuer_url" {
  value = data.azurerm_kubernetes_cluster.aks.oidc_issuer_url
}

output "client_id" {
  value = data.azurerm_user_assigned_identity.app.client_id
}

output "tenant_id" {
  value = data.azurerm_client_config.current.tenant_id
}

output "vault_uri" {
  value = azurerm_key_vault.kv.vault_uri
}
