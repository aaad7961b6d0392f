# The guides' "Accessing Azure Storage" program, as written, except that the
# account URL (a placeholder in the guide) comes from the environment.
# tests/e2e runs it under `ward run` (TestBlobGuidePythonUnderWardRun).
import os

from azure.identity import DefaultAzureCredential
from azure.storage.blob import BlobServiceClient

# Automatically authenticate using Workload Identity
credential = DefaultAzureCredential()
blob_service_client = BlobServiceClient(
    account_url=os.environ["STORAGE_ACCOUNT_URL"],
    credential=credential
)

# List blobs
container_client = blob_service_client.get_container_client("mycontainer")
blob_list = container_client.list_blobs()
for blob in blob_list:
    print(blob.name)
