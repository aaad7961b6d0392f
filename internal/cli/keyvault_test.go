package cli

import (
	"os"
	"path/filepath"
	"testing"
)

func TestKeyvaultVerbs(t *testing.T) {
	e := newVerbEnv(t)
	e.seed(t, "")
	file := filepath.Join(t.TempDir(), "blob")
	if err := os.WriteFile(file, []byte{0xca, 0xfe}, 0o600); err != nil {
		t.Fatal(err)
	}
	sec := []string{"--vault-name", "kv1", "-n", "db"}
	e.runSteps(t, []step{
		{"create refuses access policies", &vaultCreate{}, []string{"-n", "kv1", "-g", "rg", "--enable-rbac-authorization=false"}, nil, "is not supported"},
		{"create needs a group", &vaultCreate{}, []string{"-n", "kv1"}, nil, "--resource-group/-g"},
		{"create", &vaultCreate{}, []string{"-n", "kv1", "-g", "rg", "--tags", "team=shop"}, []string{`"location": "westeurope"`, `"team": "shop"`, `"vaultUri": "https://`}, ""},
		{"show by name alone", &vaultShow{}, []string{"-n", "kv1"}, []string{`"resourceGroup": "rg"`}, ""},
		{"show a missing vault", &vaultShow{}, []string{"-n", "nope"}, nil, "'Microsoft.KeyVault/vaults/nope' under subscription"},
		{"list", &vaultList{}, []string{"-g", "rg"}, []string{`"name": "kv1"`}, ""},
		{"secret set needs a value", &secretSet{}, sec, nil, "--value or --file"},
		{"secret set", &secretSet{}, append([]string{"--value", "s3cret", "--expires", "2030-01-01T00:00:00Z", "--disabled", "k=v"}, sec...),
			[]string{`"value": "s3cret"`, `"enabled": false`, `"expires": "2030-01-01T00:00:00+00:00"`, `"k": "v"`}, ""},
		{"secret set with a bad time", &secretSet{}, append([]string{"--value", "x", "--not-before", "tomorrow"}, sec...), nil, `--not-before "tomorrow"`},
		{"secret set from a file, as hex", &secretSet{}, append([]string{"--file", file, "--encoding", "hex"}, sec...),
			[]string{`"value": "cafe"`, `"file-encoding": "hex"`}, ""},
		{"secret show", &secretShow{}, sec, []string{`"value": "cafe"`}, ""},
		{"secret show needs a target", &secretShow{}, nil, nil, "--vault-name and --name/-n, or --id"},
		{"secret show a bad --id", &secretShow{}, []string{"--id", "https://kv1/keys/x"}, nil, "is not a secret identifier"},
		{"secret list", &secretList{}, []string{"--vault-name", "kv1"}, []string{`/secrets/db"`}, ""},
		{"secret delete", &secretDelete{}, sec, []string{`"recoveryId"`}, ""},
		{"delete by name alone", &vaultDelete{}, []string{"-n", "kv1"}, nil, ""},
		{"gone", &vaultShow{}, []string{"-n", "kv1", "-g", "rg"}, nil, "ResourceNotFound"},
	})
	e.wantStorageFault(t, "ListVaults", &vaultList{})
}
