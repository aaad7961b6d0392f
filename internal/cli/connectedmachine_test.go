package cli

import "testing"

func TestConnectedMachineVerbs(t *testing.T) {
	e := newVerbEnv(t)
	uai := e.seed(t, "app")
	m := []string{"-n", "m1", "-g", "rg"}
	e.runSteps(t, []step{
		{"create needs a group", &machineCreate{}, []string{"-n", "m1"}, nil, "--resource-group/-g"},
		{"create prints the join token and what to run", &machineCreate{}, append([]string{"--join-token-lifetime", "10m"}, m...),
			[]string{`"wardJoinToken": "`, `"resourceGroup": "rg"`, "ward agent join --server " + e.srv.URL}, ""},
		{"show", &machineShow{}, m, []string{`"name": "m1"`}, ""},
		{"list", &machineList{}, nil, []string{`"name": "m1"`}, ""},
		{"identity assign needs identities", &machineIdentity{assign: true}, m, nil, "--identities"},
		{"identity assign", &machineIdentity{assign: true}, append([]string{"--identities", uai}, m...), []string{`"type": "SystemAssigned, UserAssigned"`}, ""},
		{"identity remove [system]", &machineIdentity{}, append([]string{"--identities", systemIdentity}, m...), []string{`"type": "UserAssigned"`}, ""},
		{"credential reset", &machineCredentialReset{}, m, []string{`"joinToken": "`, "ward agent join"}, ""},
		{"delete", &machineDelete{}, m, nil, ""},
		{"gone", &machineShow{}, m, nil, "NotFound"},
	})
	e.wantStorageFault(t, "ListMachines", &machineList{})
}

func TestNodepoolVerbs(t *testing.T) {
	e := newVerbEnv(t)
	uai := e.seed(t, "app")
	cl := []string{"--cluster-name", "c1", "-g", "rg"}
	pool := append([]string{"-n", "pool2"}, cl...)
	e.runSteps(t, []step{
		{"cluster", &aksPut{}, []string{"-n", "c1", "-g", "rg"}, nil, ""},
		{"add needs a name", &poolAdd{}, cl, nil, "--name/-n"},
		{"add", &poolAdd{}, pool, []string{`"name": "pool2"`}, ""},
		{"show by --nodepool-name", &poolShow{}, append([]string{"--nodepool-name", "pool2"}, cl...), []string{`"name": "pool2"`}, ""},
		{"list", &poolList{}, cl, []string{`"name": "pool2"`}, ""},
		{"identity assign", &poolIdentityChange{assign: true}, append([]string{"--identities", uai}, pool...),
			[]string{`"kind": "kubelet"`, `"kind": "user"`, `"resourceId": "` + uai + `"`}, ""},
		{"identity list", &poolIdentityList{}, pool, []string{`"resourceId": "` + uai + `"`}, ""},
		{"identity remove", &poolIdentityChange{}, append([]string{"--identities", uai}, pool...), []string{`"kind": "kubelet"`}, ""},
		{"delete", &poolDelete{}, pool, nil, ""},
		{"gone", &poolShow{}, pool, nil, "NotFound"},
	})
	e.wantStorageFault(t, "GetCluster", &poolList{}, cl...)
}
