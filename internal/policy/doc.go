// Package policy is Ward's Azure Policy engine: definitions (a policyRule
// of an if condition and a then effect, typed parameters, mode All or
// Indexed), assignments (a definition at a scope, with parameter values,
// notScopes and an enforcement mode), the condition language (field and
// value conditions, allOf/anyOf/not, count, template expressions such as
// [parameters('x')]) over the aliases identity governance needs, and the
// built-in definitions Ward ships. It knows nothing of HTTP or storage:
// package arm turns a Decision into Azure's RequestDisallowedByPolicy
// answer, and storage keeps the definitions and assignments.
//
// Evaluation follows Azure's documented semantics: string comparisons are
// case-insensitive (but match and matchInsensitively's case rule), like
// takes one '*', a field a resource does not have is empty (so equals is
// false and notEquals true), and every leaf condition evaluated is
// reported as Azure reports it in evaluationDetails.evaluatedExpressions.
package policy
