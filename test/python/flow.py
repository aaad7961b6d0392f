"""The newcomer's flow with the unmodified Azure SDK for Python (Debian's
python3-azure: azure-identity 1.13, azure-mgmt-*, azure-keyvault-secrets)
against a running `ward serve`, configured as any custom cloud is:
base_url and credential_scopes on the ARM clients, AZURE_AUTHORITY_HOST,
Ward's CA in REQUESTS_CA_BUNDLE and instance discovery off.

test/e2e/sdk_js_python_test.go starts Ward, mints the cluster's
service-account token and runs this with WARD_ARM_ENDPOINT,
WARD_SUBSCRIPTION_ID, WARD_ADMIN_CLIENT_ID, WARD_ADMIN_CLIENT_SECRET,
WARD_ISSUER, WARD_SUBJECT, WARD_PREFIX and the webhook's AZURE_TENANT_ID,
AZURE_FEDERATED_TOKEN_FILE, AZURE_AUTHORITY_HOST (AZURE_CLIENT_ID is set
here, once the identity exists). It prints "ok <step>" per step and exits
non-zero at the first failure.
"""
import base64
import json
import os
import sys
import uuid

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.identity import ClientAssertionCredential, ClientSecretCredential, DefaultAzureCredential
from azure.keyvault.secrets import SecretClient
from azure.mgmt.authorization import AuthorizationManagementClient
from azure.mgmt.authorization.models import RoleAssignmentCreateParameters
from azure.mgmt.keyvault import KeyVaultManagementClient
from azure.mgmt.keyvault.models import Sku, VaultCreateOrUpdateParameters, VaultProperties
from azure.mgmt.msi import ManagedServiceIdentityClient
from azure.mgmt.resource import ResourceManagementClient


def env(name):
    v = os.environ.get(name)
    if not v:
        raise SystemExit(f"{name} is not set")
    return v


ENDPOINT = env("WARD_ARM_ENDPOINT")
SUBSCRIPTION = env("WARD_SUBSCRIPTION_ID")
TENANT = env("AZURE_TENANT_ID")
PREFIX = env("WARD_PREFIX")
ARM_SCOPE = "https://management.azure.com/.default"
ARM = {"base_url": ENDPOINT, "credential_scopes": [ARM_SCOPE]}


def ok(step, detail=""):
    print(f"ok {step}{' ' + detail if detail else ''}", flush=True)


def check(cond, what):
    if not cond:
        raise AssertionError(f"check failed: {what}")


def main():
    admin = ClientSecretCredential(TENANT, env("WARD_ADMIN_CLIENT_ID"), env("WARD_ADMIN_CLIENT_SECRET"),
                                   instance_discovery=False)
    tok = admin.get_token(ARM_SCOPE)
    check(tok.token.count(".") == 2, "an access token")
    ok("client-secret-token")

    rg = f"{PREFIX}-rg"
    resources = ResourceManagementClient(admin, SUBSCRIPTION, **ARM)
    group = resources.resource_groups.create_or_update(rg, {"location": "westeurope"})
    check(group.name == rg, f"group name {group.name}")
    ok("resource-group")

    # Identity CRUD at the package's default api-version (2018-11-30);
    # federated credentials need 2022-01-31-preview or later.
    msi = ManagedServiceIdentityClient(admin, SUBSCRIPTION, **ARM)
    created = msi.user_assigned_identities.create_or_update(rg, "app-id", {"location": "westeurope"})
    check(created.client_id and created.principal_id, "identity has client_id and principal_id")
    msi.user_assigned_identities.create_or_update(rg, "scratch-id", {"location": "westeurope"})
    updated = msi.user_assigned_identities.update(rg, "app-id", {"tags": {"team": "payments"}})
    check(updated.tags == {"team": "payments"}, f"tags after update {updated.tags}")
    got = msi.user_assigned_identities.get(rg, "app-id")
    check(got.principal_id == created.principal_id and got.tags == {"team": "payments"}, "get returns the updated identity")
    names = sorted(i.name for i in msi.user_assigned_identities.list_by_resource_group(rg))
    check(names == ["app-id", "scratch-id"], f"list {names}")
    msi.user_assigned_identities.delete(rg, "scratch-id")
    try:
        msi.user_assigned_identities.get(rg, "scratch-id")
        raise AssertionError("a deleted identity was found")
    except ResourceNotFoundError:
        pass
    ok("identity-crud", created.client_id)

    fics = ManagedServiceIdentityClient(admin, SUBSCRIPTION, api_version="2022-01-31-preview", **ARM)
    fic = fics.federated_identity_credentials.create_or_update(rg, "app-id", "cluster", {
        "issuer": env("WARD_ISSUER"), "subject": env("WARD_SUBJECT"), "audiences": ["api://AzureADTokenExchange"]})
    check(fic.issuer == env("WARD_ISSUER"), f"federated credential issuer {fic.issuer}")
    ok("federated-credential")

    kv = KeyVaultManagementClient(admin, SUBSCRIPTION, **ARM)
    vault = kv.vaults.begin_create_or_update(rg, f"{PREFIX}-kv", VaultCreateOrUpdateParameters(
        location="westeurope",
        properties=VaultProperties(tenant_id=TENANT, sku=Sku(family="A", name="standard"), enable_rbac_authorization=True),
    )).result()
    vault_url = vault.properties.vault_uri
    check(vault_url.startswith(f"https://{PREFIX}-kv.vault.localhost:"), f"vault_uri {vault_url}")
    ok("vault", vault_url)

    authz = AuthorizationManagementClient(admin, SUBSCRIPTION, **ARM)
    defs = list(authz.role_definitions.list(vault.id, filter="roleName eq 'Key Vault Secrets User'"))
    check(len(defs) == 1 and defs[0].role_name == "Key Vault Secrets User", f"role definitions {defs}")
    ok("role-definition", defs[0].id)
    assignment = authz.role_assignments.create(vault.id, str(uuid.uuid4()), RoleAssignmentCreateParameters(
        role_definition_id=defs[0].id, principal_id=created.principal_id, principal_type="ServicePrincipal"))
    check(assignment.scope.lower() == vault.id.lower(), f"assignment scope {assignment.scope}")
    listed = list(authz.role_assignments.list_for_scope(vault.id, filter=f"principalId eq '{created.principal_id}'"))
    check(any(a.name == assignment.name for a in listed), "the assignment is listed at the vault")
    ok("role-assignment")

    # The data plane; the vault host resolves through the system resolver.
    admin_secrets = SecretClient(vault_url, admin)
    admin_secrets.set_secret("db-password", "s3cr3t-py")
    check(admin_secrets.get_secret("db-password").value == "s3cr3t-py", "admin reads the secret back")
    ok("secret-set-get")

    # The workload: azure-identity 1.13 has no WorkloadIdentityCredential;
    # ClientAssertionCredential over the token file is what it does inside.
    token_file = env("AZURE_FEDERATED_TOKEN_FILE")

    def assertion():
        with open(token_file, encoding="utf-8") as f:
            return f.read().strip()

    wl = ClientAssertionCredential(TENANT, created.client_id, assertion)
    wl_token = wl.get_token("https://vault.azure.net/.default")
    payload = wl_token.token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    check(claims["oid"] == created.principal_id, f"workload token oid {claims['oid']}")
    ok("workload-identity-exchange")
    wl_secrets = SecretClient(vault_url, wl)
    check(wl_secrets.get_secret("db-password").value == "s3cr3t-py", "the identity reads the secret")
    ok("secret-read-as-identity")
    try:
        wl_secrets.set_secret("db-password", "nope")
        raise AssertionError("a Key Vault Secrets User wrote a secret")
    except HttpResponseError as e:
        check(e.status_code == 403, f"refusal status {e.status_code}: {e}")
        check("ForbiddenByRbac" in str(e) or (e.error and e.error.code == "Forbidden"), f"refusal {e}")
    ok("set-secret-refused")

    os.environ["AZURE_CLIENT_ID"] = created.client_id
    dac = DefaultAzureCredential()
    check(SecretClient(vault_url, dac).get_secret("db-password").value == "s3cr3t-py", "DefaultAzureCredential reads the secret")
    ok("default-azure-credential")
    print("FLOW OK", flush=True)


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # one line the Go test shows, then the traceback
        print(f"FAILED {type(e).__name__}: {e}", flush=True)
        raise
    sys.exit(0)
