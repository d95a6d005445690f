package features

import (
	"slices"
	"strings"
	"testing"

	"github.com/convirt/convirt/plugins/sdk"
)

// TestAppendGroups: groups stay nil until a batch carries some; samples of
// batches without groups, before or after, get "" (a group of their own);
// groups that are not one per id are an error.
func TestAppendGroups(t *testing.T) {
	plain := &sdk.Batch{IDs: []string{"a", "b"}}
	grouped := &sdk.Batch{IDs: []string{"c", "d"}, Groups: []string{"p1", "p1"}}
	g, err := AppendGroups(nil, 0, plain)
	if err != nil || g != nil {
		t.Fatalf("after a batch without groups: %q, %v", g, err)
	}
	if g, err = AppendGroups(g, 2, grouped); err != nil {
		t.Fatal(err)
	}
	if g, err = AppendGroups(g, 4, plain); err != nil {
		t.Fatal(err)
	}
	if want := []string{"", "", "p1", "p1", "", ""}; !slices.Equal(g, want) {
		t.Fatalf("groups %q, want %q", g, want)
	}
	_, err = AppendGroups(nil, 0, &sdk.Batch{IDs: []string{"a", "b"}, Groups: []string{"p"}})
	if err == nil || !strings.Contains(err.Error(), "1 groups for 2 samples") {
		t.Fatalf("err = %v", err)
	}
}
