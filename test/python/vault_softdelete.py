"""Key Vault soft-delete of secrets with the unmodified Azure SDK for Python
(Debian's python3-azure, azure-keyvault-secrets) against a running `ward
serve`: its delete poller (which waits on GET /deletedsecrets/{name}), the
deleted-secret reads, recovery (whose poller waits on GET /secrets/{name})
and purge.

test/e2e/vault_softdelete_test.go runs it with WARD_VAULT_URL (a vault with
soft-delete on) and the admin's AZURE_TENANT_ID, AZURE_CLIENT_ID,
AZURE_CLIENT_SECRET, AZURE_AUTHORITY_HOST. It prints "ok <step>" per step
and exits non-zero at the first failure.
"""
import os

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.identity import ClientSecretCredential
from azure.keyvault.secrets import SecretClient


def check(cond, what):
    if not cond:
        raise AssertionError(f"check failed: {what}")


def main():
    cred = ClientSecretCredential(os.environ["AZURE_TENANT_ID"], os.environ["AZURE_CLIENT_ID"],
                                  os.environ["AZURE_CLIENT_SECRET"], instance_discovery=False)
    kv = SecretClient(os.environ["WARD_VAULT_URL"], cred)
    first = kv.set_secret("api-key", "v1")
    check(first.properties.recovery_level == "Recoverable+Purgeable", f"recovery level {first.properties.recovery_level}")

    deleted = kv.begin_delete_secret("api-key").result()
    check(deleted.recovery_id and deleted.recovery_id.endswith("/deletedsecrets/api-key"), f"recovery id {deleted.recovery_id}")
    check(deleted.scheduled_purge_date is not None, "a scheduled purge date")
    print("ok delete", flush=True)

    try:
        kv.set_secret("api-key", "v2")
        raise AssertionError("a deleted secret's name was reused")
    except ResourceExistsError:
        pass
    got = kv.get_deleted_secret("api-key")
    check(got.properties.version == first.properties.version, "the deleted secret's version")
    names = [d.name for d in kv.list_deleted_secrets()]
    check(names == ["api-key"], f"deleted secrets {names}")
    print("ok deleted-secret", flush=True)

    recovered = kv.begin_recover_deleted_secret("api-key").result()
    check(recovered.version == first.properties.version, "recovered version")
    check(kv.get_secret("api-key").value == "v1", "the recovered value")
    print("ok recover", flush=True)

    kv.begin_delete_secret("api-key").result()
    kv.purge_deleted_secret("api-key")
    try:
        kv.get_deleted_secret("api-key")
        raise AssertionError("a purged secret reads as deleted")
    except ResourceNotFoundError as e:
        check(e.error.code == "SecretNotFound", f"error code {e.error.code}")
    kv.set_secret("api-key", "v3")
    print("ok purge", flush=True)


if __name__ == "__main__":
    main()
