# Reads one Key Vault secret with the unmodified DefaultAzureCredential and
# SecretClient; ward run (or the webhook, in a pod) sets the environment.
#   KEYVAULT_URL=https://team-kv.vault.localhost:8443/ SECRET_NAME=db-password \
#     ward run --cluster myCluster -g myResourceGroup --service-account workload-sa -- python3 examples/workload-python/main.py
import os
from azure.identity import DefaultAzureCredential
from azure.keyvault.secrets import SecretClient

client = SecretClient(os.environ["KEYVAULT_URL"], DefaultAzureCredential())
print(client.get_secret(os.environ["SECRET_NAME"]).value)
