//go:build !race

package sts_test

// raceBuild: see race_test.go.
const raceBuild = false
