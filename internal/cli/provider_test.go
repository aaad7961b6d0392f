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
		{"provider unregister needs a namespace", &providerUnregister{}, nil, nil, "--namespace/-n"},
		{"provider unregister", &providerUnregister{}, []string{"-n", "Microsoft.ContainerService", "--wait"}, nil, ""},
		{"provider show after unregister", &providerShow{}, []string{"-n", "Microsoft.ContainerService"}, []string{`"registrationState": "Unregistered"`}, ""},
		{"provider unregister of a namespace Ward does not serve", &providerUnregister{}, []string{"-n", "Microsoft.Nope"}, nil, "InvalidResourceNamespace"},
		{"provider register again", &providerRegister{}, []string{"-n", "Microsoft.ContainerService"}, nil, ""},
		{"provider show after register", &providerShow{}, []string{"-n", "Microsoft.ContainerService"}, []string{`"registrationState": "Registered"`}, ""},
		{"feature register needs both names", &featureRegister{}, []string{"--namespace", "Microsoft.ContainerService"}, nil, "--name/-n"},
		{"feature register", &featureRegister{}, []string{"--namespace", "Microsoft.ContainerService", "--name", "UserAssignedIdentityPreview"},
			[]string{`"name": "Microsoft.ContainerService/UserAssignedIdentityPreview"`, `"state": "Registered"`}, ""},
		{"feature show", &featureShow{}, []string{"--namespace", "Microsoft.ContainerService", "-n", "EnableWorkloadIdentityPreview"}, []string{`"state": "Registered"`}, ""},
		{"feature list of a namespace", &featureList{}, []string{"--namespace", "Microsoft.ContainerService"}, []string{`"name": "Microsoft.ContainerService/UserAssignedIdentityPreview"`}, ""},
		{"feature unregister needs both names", &featureUnregister{}, []string{"-n", "EnableWorkloadIdentityPreview"}, nil, "--namespace"},
		{"feature unregister", &featureUnregister{}, []string{"--namespace", "Microsoft.ContainerService", "-n", "EnableWorkloadIdentityPreview"}, []string{`"state": "Unregistered"`}, ""},
		{"feature show after unregister", &featureShow{}, []string{"--namespace", "Microsoft.ContainerService", "-n", "EnableWorkloadIdentityPreview"}, []string{`"state": "Unregistered"`}, ""},
	})
}
