// The newcomer's flow with the unmodified Azure SDKs for JavaScript against
// a running `ward serve`, configured as any custom cloud is: endpoint and
// credential scopes on the ARM clients, AZURE_AUTHORITY_HOST, Ward's CA in
// NODE_EXTRA_CA_CERTS and instance discovery off.
//
// test/e2e/sdk_js_python_test.go starts Ward, mints the cluster's
// service-account token and runs this with:
//   WARD_ARM_ENDPOINT, WARD_SUBSCRIPTION_ID, WARD_ADMIN_CLIENT_ID,
//   WARD_ADMIN_CLIENT_SECRET, WARD_ISSUER, WARD_SUBJECT, WARD_PREFIX, and
//   the webhook's AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE,
//   AZURE_AUTHORITY_HOST (AZURE_CLIENT_ID is set here, once the identity
//   exists).
// It prints "ok <step>" per step and exits non-zero at the first failure.
import { ClientSecretCredential, DefaultAzureCredential, WorkloadIdentityCredential } from "@azure/identity";
import { ResourceManagementClient } from "@azure/arm-resources";
import { ManagedServiceIdentityClient } from "@azure/arm-msi";
import { KeyVaultManagementClient } from "@azure/arm-keyvault";
import { AuthorizationManagementClient } from "@azure/arm-authorization";
import { SecretClient } from "@azure/keyvault-secrets";
import { randomUUID } from "node:crypto";

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const endpoint = env("WARD_ARM_ENDPOINT");
const subscription = env("WARD_SUBSCRIPTION_ID");
const tenant = env("AZURE_TENANT_ID");
const prefix = env("WARD_PREFIX");
const armScope = "https://management.azure.com/.default";
// Old (core-client) and new (core-rest) ARM clients name the scopes differently.
const armOptions = { endpoint, credentialScopes: [armScope], credentials: { scopes: [armScope] } };

function ok(step, detail = "") {
  console.log(`ok ${step}${detail ? " " + detail : ""}`);
}
function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
}
async function all(iter) {
  const out = [];
  for await (const x of iter) out.push(x);
  return out;
}
async function refused(promise, status, code) {
  try {
    await promise;
  } catch (e) {
    const got = e.statusCode ?? e.response?.status;
    if (got === status && (!code || e.code === code)) return e;
    throw new Error(`want ${status} ${code ?? ""}, got ${got} ${e.code}: ${e.message}`);
  }
  throw new Error(`want ${status} ${code ?? ""}, got success`);
}

const admin = new ClientSecretCredential(tenant, env("WARD_ADMIN_CLIENT_ID"), env("WARD_ADMIN_CLIENT_SECRET"), {
  disableInstanceDiscovery: true,
});
const tok = await admin.getToken(armScope);
check(tok?.token?.split(".").length === 3, "an access token");
ok("client-secret-token");

const rg = `${prefix}-rg`;
const resources = new ResourceManagementClient(admin, subscription, armOptions);
const group = await resources.resourceGroups.createOrUpdate(rg, { location: "westeurope" });
check(group.name === rg, `group name ${group.name}`);
ok("resource-group");

// Identity CRUD.
const msi = new ManagedServiceIdentityClient(admin, subscription, armOptions);
const created = await msi.userAssignedIdentities.createOrUpdate(rg, "app-id", { location: "westeurope" });
check(created.clientId && created.principalId, "identity has clientId and principalId");
await msi.userAssignedIdentities.createOrUpdate(rg, "scratch-id", { location: "westeurope" });
const updated = await msi.userAssignedIdentities.update(rg, "app-id", { tags: { team: "payments" } });
check(updated.tags?.team === "payments", `tags after update ${JSON.stringify(updated.tags)}`);
const got = await msi.userAssignedIdentities.get(rg, "app-id");
check(got.principalId === created.principalId && got.tags?.team === "payments", "get returns the updated identity");
const listed = (await all(msi.userAssignedIdentities.listByResourceGroup(rg))).map((i) => i.name).sort();
check(JSON.stringify(listed) === JSON.stringify(["app-id", "scratch-id"]), `list ${listed}`);
await msi.userAssignedIdentities.delete(rg, "scratch-id");
await refused(msi.userAssignedIdentities.get(rg, "scratch-id"), 404);
ok("identity-crud", created.clientId);

const fic = await msi.federatedIdentityCredentials.createOrUpdate(rg, "app-id", "cluster", {
  issuer: env("WARD_ISSUER"),
  subject: env("WARD_SUBJECT"),
  audiences: ["api://AzureADTokenExchange"],
});
check(fic.issuer === env("WARD_ISSUER"), `federated credential issuer ${fic.issuer}`);
ok("federated-credential");

const kv = new KeyVaultManagementClient(admin, subscription, armOptions);
const vault = await kv.vaults.createOrUpdate(rg, `${prefix}-kv`, {
  location: "westeurope",
  properties: { tenantId: tenant, sku: { family: "A", name: "standard" }, enableRbacAuthorization: true },
});
const vaultUrl = vault.properties.vaultUri;
check(vaultUrl?.startsWith(`https://${prefix}-kv.vault.localhost:`), `vaultUri ${vaultUrl}`);
ok("vault", vaultUrl);

// Role definition by name at the vault's scope, then an assignment there:
// @azure/arm-authorization sends "//subscriptions/..." for these.
const authz = new AuthorizationManagementClient(admin, subscription, armOptions);
const defs = await all(authz.roleDefinitions.list(vault.id, { filter: "roleName eq 'Key Vault Secrets User'" }));
check(defs.length === 1 && defs[0].roleName === "Key Vault Secrets User", `role definitions ${JSON.stringify(defs)}`);
ok("role-definition", defs[0].id);
const assignment = await authz.roleAssignments.create(vault.id, randomUUID(), {
  principalId: created.principalId,
  roleDefinitionId: defs[0].id,
  principalType: "ServicePrincipal",
});
check(assignment.scope?.toLowerCase() === vault.id.toLowerCase(), `assignment scope ${assignment.scope}`);
const assignments = await all(authz.roleAssignments.listForScope(vault.id, { filter: `principalId eq '${created.principalId}'` }));
check(assignments.some((a) => a.name === assignment.name), "the assignment is listed at the vault");
ok("role-assignment");

// The data plane; the vault host resolves through the system resolver.
const adminSecrets = new SecretClient(vaultUrl, admin);
await adminSecrets.setSecret("db-password", "s3cr3t-js");
const adminRead = await adminSecrets.getSecret("db-password");
check(adminRead.value === "s3cr3t-js", "admin reads the secret back");
ok("secret-set-get");

// The workload: the webhook's environment, the identity's client ID.
const wl = new WorkloadIdentityCredential({
  tenantId: tenant,
  clientId: created.clientId,
  tokenFilePath: env("AZURE_FEDERATED_TOKEN_FILE"),
  disableInstanceDiscovery: true,
});
const wlToken = await wl.getToken("https://vault.azure.net/.default");
const claims = JSON.parse(Buffer.from(wlToken.token.split(".")[1], "base64url").toString());
check(claims.oid === created.principalId, `workload token oid ${claims.oid}`);
ok("workload-identity-exchange");
const wlSecrets = new SecretClient(vaultUrl, wl);
const wlRead = await wlSecrets.getSecret("db-password");
check(wlRead.value === "s3cr3t-js", "the identity reads the secret");
ok("secret-read-as-identity");
const err = await refused(wlSecrets.setSecret("db-password", "nope"), 403, "Forbidden");
check(/ForbiddenByRbac|not authorized|does not have/i.test(JSON.stringify(err.details ?? err.message)), `refusal ${err.message}`);
ok("set-secret-refused");

process.env.AZURE_CLIENT_ID = created.clientId;
const dac = new DefaultAzureCredential({ disableInstanceDiscovery: true });
const dacRead = await new SecretClient(vaultUrl, dac).getSecret("db-password");
check(dacRead.value === "s3cr3t-js", "DefaultAzureCredential reads the secret");
ok("default-azure-credential");
console.log("FLOW OK");
