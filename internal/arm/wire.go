package arm

import "github.com/ward-id/ward/internal/resourceid"

// Wire names of the Azure Resource Manager protocol as Ward serves it. Tests
// use these literals too, so a rename breaks a test.

// Resource types.
const (
	TypeResourceGroup       = resourceid.TypeResourceGroup
	ProviderMSI             = "Microsoft.ManagedIdentity"
	TypeIdentity            = resourceid.TypeIdentity
	TypeFederatedCredential = resourceid.TypeFederatedCredential
)

// The request ID headers are router.HeaderRequestID and its neighbours:
// the mux sets them for every ARM route.

// MaxBodyBytes caps request bodies, as ARM does (4 MiB); every ARM route
// declares it, and the mux applies it.
const MaxBodyBytes = 4 << 20

// API versions Ward knows per resource type; requests behave as the newest,
// and apiversion.go has the rule for versions not listed. What the clients
// send today: subscriptions 2019-11-01 (az 2.45), 2021-01-01 (Python),
// 2022-12-01 (Go armsubscriptions 1.3, @azure/arm-resources-subscriptions
// 2.1); resource groups 2021-04-01 (az 2.45, Go armresources 1.2), 2022-09-01
// (Python), 2025-04-01 (Go armresources/v3, @azure/arm-resources 8);
// identities 2018-11-30 (Python's default), 2022-01-31-preview (az 2.45,
// and Python for federated credentials), 2024-11-30 (Go armmsi 1.3,
// @azure/arm-msi 2.2).
var (
	subscriptionAPIVersions = []string{
		"2014-04-01", "2015-01-01", "2016-06-01", "2018-06-01", "2019-06-01", "2019-11-01", "2020-01-01",
		"2021-01-01", "2022-01-01", "2022-09-01", "2022-12-01", "2023-07-01", "2024-08-01",
	}
	resourceGroupAPIVersions = []string{
		"2014-04-01", "2015-01-01", "2015-11-01", "2016-02-01", "2016-06-01", "2016-07-01", "2016-09-01",
		"2017-05-10", "2017-08-01", "2018-02-01", "2018-05-01", "2019-03-01", "2019-05-01", "2019-05-10",
		"2019-07-01", "2019-08-01", "2019-10-01", "2020-06-01", "2020-08-01", "2020-10-01", "2021-01-01",
		"2021-04-01", "2022-09-01", "2023-07-01", "2024-03-01", "2024-07-01", "2024-11-01", "2025-01-01",
		"2025-03-01", "2025-04-01",
	}
	identityAPIVersions = []string{
		"2015-08-31-preview", "2018-11-30", "2021-09-30-preview", "2022-01-31-preview", "2023-01-31",
		"2023-07-31-preview", "2024-11-30", "2025-01-31-preview", "2025-05-31-preview", "2026-04-30", "2026-05-31",
	}
	// Federated credentials appeared in 2022-01-31-preview.
	federatedCredentialAPIVersions = []string{
		"2022-01-31-preview", "2023-01-31", "2023-07-31-preview", "2024-11-30", "2025-01-31-preview",
		"2025-05-31-preview", "2026-04-30", "2026-05-31",
	}
	metadataAPIVersions = []string{"2015-01-01", "2018-01-01", "2019-05-01", "2020-06-01", "2022-09-01"}
)
