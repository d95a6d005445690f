package main

import (
	"strings"
	"testing"
)

// TestBenchConvirtUsage checks that the bench commands' usage errors reach
// convirt's dispatcher as usage errors: exit code 2 and the usage line.
func TestBenchConvirtUsage(t *testing.T) {
	for _, args := range [][]string{
		{"--image", "vgg"},
		{"--text", "large"},
		{"--text", "tiny", "--text-len", "200"},
		{"--ref", "graph", "--gradcache", "4"},
		{"--ref", "both"},
		{"--batch", "0"},
		{"--length-buckets", "4", "--inprocess"},
		{"--text-len", "16", "--text-len-min", "17"},
		{"extra"},
	} {
		code, _, errOut := runCLI(t, append([]string{"bench", "convirt"}, args...)...)
		if code != 2 || !strings.Contains(errOut, "usage:") {
			t.Errorf("%v: exit %d, stderr %q; want a usage error", args, code, errOut)
		}
	}
}
