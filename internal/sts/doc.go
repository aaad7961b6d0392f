// Package sts is Ward's token service, wire-compatible with Entra ID's: the
// OpenID discovery documents and JWKS of the authority, and the v1 and v2
// token endpoints for the client-credentials grant with a client secret, a
// certificate assertion or a federated (workload identity) assertion. It
// authenticates the client, mints or reuses the access token, records every
// outcome in the sign-in log and answers refusals with Entra's AADSTS codes
// and texts, plus Ward's explanation where the caller may see it.
package sts
