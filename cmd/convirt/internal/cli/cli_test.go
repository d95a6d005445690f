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
