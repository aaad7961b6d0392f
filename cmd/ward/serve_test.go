package main

import (
	"math"
	"testing"
)

func TestMemoryLimit(t *testing.T) {
	t.Setenv("GOMEMLIMIT", "300MiB") // auto then leaves Go's own setting alone
	for _, tc := range []struct {
		in   string
		want int64
		err  bool
	}{
		{"auto", 0, false},
		{"200Mi", 200 << 20, false},
		{"1G", 1e9, false},
		{"0", math.MaxInt64, false},
		{"off", math.MaxInt64, false},
		{"-1Mi", 0, true},
		{"lots", 0, true},
		{"", 0, true},
	} {
		got, err := memoryLimit(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("memoryLimit(%q) = %d, %v; want %d, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}
