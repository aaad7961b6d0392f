package cli

import "testing"

func TestProviderAndFeatureVerbs(t *testing.T) {
	e := newVerbEnv(t)
	e.runSteps(t, []step{
		{"provider register needs a namespace", &providerRegister{}, nil, nil, "--namespace/-n"},
		{"provider register", &providerRegister{}, []string{"--namespace", "Microsoft.ContainerService"}, nil, ""},
		{"provider register of a namespace Ward does not serve", &providerRegister{}, []string{"-n", "Microsoft.Nope"}, nil, "InvalidResourceNamespace"},
		{"provider show", &providerShow{}, []string{"-n", "microsoft.containerservice"}, []string{`"namespace": "Microsoft.ContainerService"`, `"registrationState": "Registered"`, `"resourceType": "managedClusters"`}, ""},
		{"provider list", &providerList{}, nil, []string{`"namespace": "Microsoft.KeyVault"`}, ""},
		{"feature register needs both names", &featureRegister{}, []string{"--namespace", "Microsoft.ContainerService"}, nil, "--name/-n"},
		{"feature register", &featureRegister{}, []string{"--namespace", "Microsoft.ContainerService", "--name", "UserAssignedIdentityPreview"},
			[]string{`"name": "Microsoft.ContainerService/UserAssignedIdentityPreview"`, `"state": "Registered"`}, ""},
		{"feature show", &featureShow{}, []string{"--namespace", "Microsoft.ContainerService", "-n", "EnableWorkloadIdentityPreview"}, []string{`"state": "Registered"`}, ""},
		{"feature list of a namespace", &featureList{}, []string{"--namespace", "Microsoft.ContainerService"}, []string{`"name": "Microsoft.ContainerService/UserAssignedIdentityPreview"`}, ""},
	})
}
