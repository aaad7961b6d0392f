package cli

import "testing"

func TestGroupVerbs(t *testing.T) {
	e := newVerbEnv(t)
	e.runSteps(t, []step{
		{"create needs a location", &groupCreate{}, []string{"-n", "rg"}, nil, "--location/-l"},
		{"create", &groupCreate{}, []string{"-n", "rg", "-l", "westeurope", "--tags", "a=1", "b"}, []string{`"name": "rg"`, `"a": "1"`, `"b": ""`}, ""},
		{"show", &groupShow{}, []string{"-n", "rg"}, []string{`"location": "westeurope"`}, ""},
		{"show needs a name", &groupShow{}, nil, nil, "--name/-n"},
		{"list", &groupList{}, nil, []string{`"name": "rg"`}, ""},
		{"delete", &groupDelete{}, []string{"-n", "rg", "-y"}, nil, ""},
		{"delete again", &groupDelete{}, []string{"-n", "rg", "-y"}, nil, "Resource group 'rg' could not be found."},
	})
	e.wantStorageFault(t, "ListResourceGroups", &groupList{})
}
