// Reads one Key Vault secret with the unmodified DefaultAzureCredential and
// SecretClient; ward run (or the webhook, in a pod) sets the environment.
//   (cd examples/workload-js && npm install)
//   KEYVAULT_URL=https://team-kv.vault.localhost:8443/ SECRET_NAME=db-password \
//     ward run --cluster myCluster -g myResourceGroup --service-account workload-sa -- node examples/workload-js/main.mjs
import { DefaultAzureCredential } from "@azure/identity";
import { SecretClient } from "@azure/keyvault-secrets";

const client = new SecretClient(process.env.KEYVAULT_URL, new DefaultAzureCredential({ disableInstanceDiscovery: true }));
console.log((await client.getSecret(process.env.SECRET_NAME)).value);
