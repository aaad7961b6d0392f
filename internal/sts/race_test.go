//go:build race

package sts_test

// raceBuild: the race detector's instrumentation changes what the compiler
// keeps on the stack, so allocation counts differ from a normal build's.
const raceBuild = true
