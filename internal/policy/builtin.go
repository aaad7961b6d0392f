package policy

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
)

// Built-in definition names (GUIDs). The first three are Azure's, with
// Azure's parameters and logic; the last two are Ward's own.
const (
	BuiltInFICIssuerTypes   = "2571b7c3-3056-4a61-b00a-9bc5232234f5"
	BuiltInFICTrustedAKS    = "ae62c456-33de-4dc8-b100-7ce9028a7d99"
	BuiltInFICGitHubOwners  = "fd1a8e20-2c4f-4a6c-9354-b58d786d9a1f"
	BuiltInFICWardClusters  = "63696c7e-ecbc-4317-ad1c-aa07e32be347"
	BuiltInNoPrivilegedRole = "ab3834e4-c5d7-4b47-9c29-eb5c94e23eb2"
)

// BuiltInID is a built-in definition's resource ID.
func BuiltInID(name string) string {
	return "/providers/Microsoft.Authorization/policyDefinitions/" + name
}

// Role GUIDs the privileged-role built-in refuses by default.
const (
	RoleOwner                   = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
	RoleContributor             = "b24988ac-6180-42a0-ab88-20f7382dd24c"
	RoleUserAccessAdministrator = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"
)

// Wire facts of the federated-credential built-ins.
const (
	ficTypeName   = "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials"
	ficIssuer     = ficTypeName + "/issuer"
	ficSubject    = ficTypeName + "/subject"
	issuerGitHub  = "https://token.actions.githubusercontent.com"
	issuerAWS     = "https://cognito-identity.amazonaws.com"
	issuerGoogle  = "https://accounts.google.com"
	aksIssuerHost = "*.oic.prod-aks.azure.com"
)

// Expressions over the credential's issuer and subject. An issuer URL
// https://<host>/<a>/<b>/ splits on '/' into "https:", "", host, a, b; a
// GitHub subject repo:<owner>/<repo>:<rest> on ':' into "repo",
// owner/repo, rest. Each part is guarded so a short value yields ”
// instead of an evaluation error (which a deny policy would treat as a
// denial).
var (
	issuerText   = fmt.Sprintf("string(field('%s'))", ficIssuer)
	subjectText  = fmt.Sprintf("string(field('%s'))", ficSubject)
	issuerPart   = func(i int) string { return part(issuerText, "/", i) }
	issuerHost   = issuerPart(2)
	aksRegion    = part(issuerHost, ".", 0)
	aksTenant    = issuerPart(3)
	aksCluster   = issuerPart(4)
	githubRepo   = part(subjectText, ":", 1)
	githubOwner  = part(githubRepo, "/", 0)
	wardCluster  = fmt.Sprintf("wardIssuerCluster(%s)", issuerText)
	roleGUIDExpr = "last(split(string(field('Microsoft.Authorization/roleAssignments/roleDefinitionId')),'/'))"
)

// part is the i-th piece of s split on sep, or ” when there are fewer.
func part(s, sep string, i int) string {
	return fmt.Sprintf("if(greater(length(split(%s,'%s')),%d),split(%s,'%s')[%d],'')", s, sep, i, s, sep, i)
}

func expr(s string) string { return "[" + s + "]" }

func j(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // the literals below always marshal
	}
	return b
}

type obj = map[string]any

func field(name, op string, v any) obj { return obj{"field": name, op: v} }
func value(e, op string, v any) obj    { return obj{"value": e, op: v} }
func all(c ...any) obj                 { return obj{"allOf": c} }
func any_(c ...any) obj                { return obj{"anyOf": c} }
func not(c any) obj                    { return obj{"not": c} }
func param(name string) string         { return expr("parameters('" + name + "')") }
func isFalse(p string) obj             { return value(param(p), "equals", false) }
func emptyOr(p, e string) obj {
	return any_(value(expr("length(parameters('"+p+"'))"), "equals", 0), value(expr(e), "in", param(p)))
}

func meta(displayName, description string) json.RawMessage {
	return j(obj{"displayName": displayName, "description": description})
}

var effectParam = ParameterDefinition{Type: "String", Metadata: meta("Effect", "Audit records non-compliance; Deny refuses the write; Disabled turns the assignment off."),
	AllowedValues: []any{"Audit", "Deny", "Disabled"}, DefaultValue: j("Audit")}

func boolParam(display, desc string) ParameterDefinition {
	return ParameterDefinition{Type: "Boolean", Metadata: meta(display, desc), DefaultValue: j(false)}
}

func arrayParam(display, desc string, required bool) ParameterDefinition {
	p := ParameterDefinition{Type: "Array", Metadata: meta(display, desc)}
	if !required {
		p.DefaultValue = j([]any{})
	}
	return p
}

func stringParam(display, desc string) ParameterDefinition {
	return ParameterDefinition{Type: "String", Metadata: meta(display, desc), DefaultValue: j("")}
}

// builtIn is a built-in definition before it is compiled.
type builtIn struct {
	name  string
	props Properties
}

// builtIns are the definitions every Ward serves at
// /providers/Microsoft.Authorization/policyDefinitions/{name}, one
// function each so that each definition reads on its own.
func builtIns() []builtIn {
	return []builtIn{
		{BuiltInFICIssuerTypes, ficIssuerTypes()},
		{BuiltInFICTrustedAKS, ficTrustedAKS()},
		{BuiltInFICGitHubOwners, ficGitHubOwners()},
		{BuiltInFICWardClusters, ficWardClusters()},
		{BuiltInNoPrivilegedRole, noPrivilegedRole()},
	}
}

// Conditions the federated-credential built-ins share.
func isFIC() obj               { return field("type", "equals", ficTypeName) }
func isAKSIssuer() obj         { return value(expr(issuerHost), "like", aksIssuerHost) }
func issuerIs(u string) obj    { return field(ficIssuer, "equals", u) }
func isWardClusterIssuer() obj { return value(expr(wardCluster+".id"), "notEquals", "") }

// previewMeta is the metadata of Azure's preview built-ins, which carry
// their version in the metadata as well as in the properties.
func previewMeta() json.RawMessage {
	return j(obj{"category": "Managed Identity", "version": "1.0.0-preview", "preview": true})
}

// rule is a policy rule whose effect is the assignment's "effect"
// parameter, as every built-in's is.
func rule(cond obj) json.RawMessage {
	return j(obj{"if": cond, "then": obj{"effect": param("effect")}})
}

// ficIssuerTypes is Azure's built-in that allows federated credentials
// by kind of issuer.
func ficIssuerTypes() Properties {
	return Properties{
		DisplayName: "[Preview]: Managed Identity Federated Credentials should be from allowed issuer types",
		Description: "Controls whether user-assigned identities may hold federated credentials at all, and from which kinds of issuer: AKS clusters, GitHub Actions, AWS, Google, this Ward's clusters (Ward's own parameter), or a list of exact issuers.",
		Mode:        ModeAll, Metadata: previewMeta(), Version: "1.0.0-preview",
		Parameters: map[string]ParameterDefinition{
			"allowFederatedCredentials": boolParam("Allow Federated Credentials", "True lets identities hold federated credentials; false refuses every one."),
			"allowAKS":                  boolParam("Allow AKS", "True allows issuers of Azure Kubernetes Service clusters."),
			"allowGitHub":               boolParam("Allow GitHub", "True allows GitHub Actions' issuer."),
			"allowAWS":                  boolParam("Allow AWS", "True allows Amazon Cognito's issuer."),
			"allowGCS":                  boolParam("Allow GCS", "True allows Google's issuer."),
			"allowWardClusters":         boolParam("Allow this Ward's clusters", "Ward's parameter: true allows the hosted issuers of this Ward's clusters."),
			"allowedIssuerExceptions":   arrayParam("Allowed Exception Issuers", "Exact issuer URLs allowed besides the kinds above.", false),
			"effect":                    effectParam,
		},
		PolicyRule: rule(all(isFIC(), any_(
			isFalse("allowFederatedCredentials"),
			all(isAKSIssuer(), isFalse("allowAKS")),
			all(issuerIs(issuerGitHub), isFalse("allowGitHub")),
			all(issuerIs(issuerAWS), isFalse("allowAWS")),
			all(issuerIs(issuerGoogle), isFalse("allowGCS")),
			all(isWardClusterIssuer(), isFalse("allowWardClusters")),
			all(
				not(any_(isAKSIssuer(), issuerIs(issuerGitHub), issuerIs(issuerAWS), issuerIs(issuerGoogle), isWardClusterIssuer())),
				not(field(ficIssuer, "in", param("allowedIssuerExceptions"))),
			),
		))),
	}
}

// ficTrustedAKS is Azure's built-in that allows AKS issuers by tenant and
// region, both read from the issuer URL.
func ficTrustedAKS() Properties {
	return Properties{
		DisplayName: "[Preview]: Managed Identity Federated Credentials from Azure Kubernetes should be from trusted sources",
		Description: "Allows federated credentials of AKS cluster issuers only from the given tenants and regions (read from the issuer URL), plus listed clusters.",
		Mode:        ModeAll, Metadata: previewMeta(), Version: "1.0.0-preview",
		Parameters: map[string]ParameterDefinition{
			"allowedTenants":           arrayParam("Allowed tenants", "Tenant IDs whose AKS issuers are allowed; empty allows every tenant.", true),
			"allowedLocations":         arrayParam("Allowed locations", "Regions whose AKS issuers are allowed; empty allows every region.", false),
			"allowedClusterExceptions": arrayParam("Allowed Exception Clusters", "Cluster IDs (the issuer URL's last segment) allowed whatever their tenant and region.", false),
			"effect":                   effectParam,
		},
		PolicyRule: rule(all(isFIC(), isAKSIssuer(), not(any_(
			all(emptyOr("allowedLocations", aksRegion), emptyOr("allowedTenants", aksTenant)),
			value(expr(aksCluster), "in", param("allowedClusterExceptions")),
		)))),
	}
}

// ficGitHubOwners is Azure's built-in that allows GitHub Actions by
// repository owner, read from the subject.
func ficGitHubOwners() Properties {
	return Properties{
		DisplayName: "[Preview]: Managed Identity Federated Credentials from GitHub should be from trusted repository owners",
		Description: "Allows federated credentials of GitHub Actions only for repositories of the given owners (read from the subject repo:<owner>/<repo>:...), plus listed repositories.",
		Mode:        ModeAll, Metadata: previewMeta(), Version: "1.0.1-preview",
		Parameters: map[string]ParameterDefinition{
			"allowedRepoOwners":     arrayParam("Allowed Repo Owners", "Repository owners allowed; empty allows every owner.", true),
			"allowedRepoExceptions": arrayParam("Allowed Repo Exception", "Repositories (owner/name) allowed whatever their owner.", false),
			"effect":                effectParam,
		},
		PolicyRule: rule(all(isFIC(), issuerIs(issuerGitHub), not(any_(
			emptyOr("allowedRepoOwners", githubOwner),
			value(expr(githubRepo), "in", param("allowedRepoExceptions")),
		)))),
	}
}

// ficWardClusters is Ward's own built-in: it allows only the hosted
// issuers of this Ward's clusters, chosen by ID, resource group or tag.
func ficWardClusters() Properties {
	return Properties{
		DisplayName: "Managed Identity Federated Credentials should be from this Ward's clusters",
		Description: "Ward's: allows federated credentials only when the issuer is the hosted issuer of one of this Ward's clusters that is listed by resource ID, lies in a listed resource group, or carries the given tag; or when it is a listed exception.",
		Mode:        ModeAll, Metadata: j(obj{"category": "Managed Identity", "version": "1.0.0"}), Version: "1.0.0",
		Parameters: map[string]ParameterDefinition{
			"allowedClusterIds":       arrayParam("Allowed clusters", "Resource IDs of Ward clusters whose issuers are allowed.", false),
			"allowedResourceGroupIds": arrayParam("Allowed resource groups", "Resource group IDs whose clusters' issuers are allowed.", false),
			"allowedClusterTagName":   stringParam("Allowed cluster tag name", "Clusters carrying this tag are allowed; empty: no tag rule."),
			"allowedClusterTagValue":  stringParam("Allowed cluster tag value", "The tag's value; empty: any value."),
			"allowedIssuerExceptions": arrayParam("Allowed Exception Issuers", "Exact issuer URLs allowed besides this Ward's clusters (GitHub, another cloud).", false),
			"effect":                  effectParam,
		},
		PolicyRule: rule(all(isFIC(), not(any_(
			value(expr(wardCluster+".id"), "in", param("allowedClusterIds")),
			value(expr(wardCluster+".resourceGroupId"), "in", param("allowedResourceGroupIds")),
			all(
				value(param("allowedClusterTagName"), "notEquals", ""),
				value(expr(fmt.Sprintf("contains(%s.tags, parameters('allowedClusterTagName'))", wardCluster)), "equals", true),
				any_(
					value(param("allowedClusterTagValue"), "equals", ""),
					value(expr(fmt.Sprintf("tryGet(%s.tags, parameters('allowedClusterTagName'))", wardCluster)), "equals", param("allowedClusterTagValue")),
				),
			),
			field(ficIssuer, "in", param("allowedIssuerExceptions")),
		)))),
	}
}

// noPrivilegedRole is Ward's own built-in: no broad, privileged role
// assignments to workload identities.
func noPrivilegedRole() Properties {
	const scope = "Microsoft.Authorization/roleAssignments/scope"
	return Properties{
		DisplayName: "Workload identities should not hold Owner, Contributor or User Access Administrator at subscription or root scope",
		Description: "Ward's: refuses (or audits) role assignments of the listed privileged roles to service principals (application and managed identities) at '/', a management group or a subscription; grant workloads narrower roles at their resource group or resource.",
		Mode:        ModeAll, Metadata: j(obj{"category": "Authorization", "version": "1.0.0"}), Version: "1.0.0",
		Parameters: map[string]ParameterDefinition{
			"privilegedRoleIds": {Type: "Array", Metadata: meta("Privileged roles", "Role definition GUIDs refused at broad scopes: Owner, Contributor and User Access Administrator by default."),
				DefaultValue: j([]string{RoleOwner, RoleContributor, RoleUserAccessAdministrator})},
			"effect": effectParam,
		},
		PolicyRule: rule(all(
			field("type", "equals", "Microsoft.Authorization/roleAssignments"),
			field("Microsoft.Authorization/roleAssignments/principalType", "equals", "ServicePrincipal"),
			value(expr(roleGUIDExpr), "in", param("privilegedRoleIds")),
			any_(
				field(scope, "equals", "/"),
				field(scope, "like", "/providers/Microsoft.Management/managementGroups/*"),
				all(
					field(scope, "like", "/subscriptions/*"),
					field(scope, "notContains", "/resourceGroups/"),
				),
			),
		)),
	}
}

// BuiltIns returns the built-in definitions, compiled once; callers must
// not modify them.
func BuiltIns() []*Definition { return builtInDefs() }

var builtInDefs = sync.OnceValue(func() []*Definition {
	var out []*Definition
	for _, b := range builtIns() {
		b.props.PolicyType = TypeBuiltIn
		d, err := Compile(BuiltInID(b.name), b.name, b.props)
		if err != nil {
			panic(fmt.Sprintf("built-in policy %s: %v", b.name, err)) // a test compiles every built-in
		}
		out = append(out, d)
	}
	return out
})

// BuiltIn returns the built-in definition named name (any case).
func BuiltIn(name string) (*Definition, bool) {
	for _, d := range BuiltIns() {
		if strings.EqualFold(d.Name, name) {
			return d, true
		}
	}
	return nil, false
}
