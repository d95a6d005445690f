package cli

import (
	"bytes"
	"errors"
	"flag"
	"slices"
	"strings"
	"testing"
)

func TestParseInterleaved(t *testing.T) {
	var errOut bytes.Buffer
	fs := NewFlags("demo check", &errOut)
	dir := fs.String("dir", "runs", "")
	pos, err := ParseInterleaved(fs, []string{"a", "--dir", "x", "b"})
	if err != nil || *dir != "x" || !slices.Equal(pos, []string{"a", "b"}) {
		t.Errorf("pos %q, dir %q, err %v", pos, *dir, err)
	}
	if _, err := ParseInterleaved(fs, []string{"--nope"}); err == nil || !strings.Contains(errOut.String(), "flag provided but not defined: -nope") {
		t.Errorf("unknown flag: err %v, stderr %q", err, errOut.String())
	}
	errOut.Reset()
	if _, err := ParseInterleaved(fs, []string{"-h"}); !errors.Is(err, flag.ErrHelp) || !strings.Contains(errOut.String(), "Usage of convirt demo check") {
		t.Errorf("-h: err %v, stderr %q", err, errOut.String())
	}
}

// TestUnknownFlagSuggests: a mistyped flag prints the flag package's
// message, the closest flag and the usage line once, and comes back as a
// usage error already reported.
func TestUnknownFlagSuggests(t *testing.T) {
	var errOut bytes.Buffer
	fs := NewFlags("zz unregistered", &errOut)
	fs.Bool("dry-run", false, "")
	_, err := ParseInterleaved(fs, []string{"x", "--dri-run"})
	want := "flag provided but not defined: -dri-run\ndid you mean --dry-run?\nusage: convirt zz unregistered (convirt zz unregistered --help for more)\n"
	if !Reported(err) || !errors.Is(err, ErrUsage) || errOut.String() != want {
		t.Errorf("err %v (reported %v), stderr %q, want %q", err, Reported(err), errOut.String(), want)
	}
	errOut.Reset()
	if _, err := ParseInterleaved(fs, []string{"--zzz"}); !Reported(err) || strings.Contains(errOut.String(), "did you mean") {
		t.Errorf("--zzz: err %v, stderr %q: want no guess", err, errOut.String())
	}
}

func TestSplitOverrides(t *testing.T) {
	rest, sets := SplitOverrides([]string{"train.max_steps=40", "recipes/a=b.yaml", "demo.yaml", "evaluate.0.seeds=[1,2]", "=x", "seed=1"})
	if !slices.Equal(rest, []string{"recipes/a=b.yaml", "demo.yaml", "=x"}) || !slices.Equal(sets, []string{"train.max_steps=40", "evaluate.0.seeds=[1,2]", "seed=1"}) {
		t.Errorf("rest %q, sets %q", rest, sets)
	}
}
