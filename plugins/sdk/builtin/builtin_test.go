package builtin_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/builtin"
	"github.com/convirt/convirt/plugins/sdk/sdktest"
)

// The fakes embed their interface (nil): a test calls only what they
// define.
type (
	fakeEncoder struct {
		sdk.Encoder
		n int
	}
	fakeLoss      struct{ sdk.Loss }
	fakeDataset   struct{ sdk.Dataset }
	fakeEvaluator struct{ sdk.Evaluator }
)

// Info is what the served loss answers across the process boundary.
func (l *fakeLoss) Info(context.Context) (sdk.Info, error) {
	return sdk.Info{Name: "test-loss", Kind: sdk.KindLoss, Version: "9.9.9", Description: "served by builtin.Serve"}, nil
}
func (l *fakeLoss) Close() error { return nil }

var made int // how many encoders the constructor made

func init() {
	builtin.RegisterEvaluator("test-b-evaluator", func() sdk.Evaluator { return &fakeEvaluator{} })
	builtin.RegisterEncoder("test-z-encoder", func() sdk.Encoder { made++; return &fakeEncoder{n: made} })
	builtin.RegisterEncoder("test-a-encoder", func() sdk.Encoder { return &fakeEncoder{} })
	builtin.RegisterDataset("test-dataset", func() sdk.Dataset { return &fakeDataset{} })
	builtin.RegisterLoss("test-loss", func() sdk.Loss { return &fakeLoss{} })
}

func TestMain(m *testing.M) {
	sdktest.Main(builtin.Serve)
	os.Exit(m.Run())
}

// TestLookupKindsAndFreshInstances: each Register function files its name
// under its kind, and New builds a new instance with the constructor each
// time, of the kind registered.
func TestLookupKindsAndFreshInstances(t *testing.T) {
	for name, kind := range map[string]sdk.Kind{
		"test-a-encoder":   sdk.KindEncoder,
		"test-z-encoder":   sdk.KindEncoder,
		"test-loss":        sdk.KindLoss,
		"test-dataset":     sdk.KindDataset,
		"test-b-evaluator": sdk.KindEvaluator,
	} {
		e, ok := builtin.Lookup(name)
		if !ok || e.Name != name || e.Kind != kind {
			t.Errorf("Lookup(%q) = %+v, %v; want kind %s", name, e, ok, kind)
		}
	}
	e, _ := builtin.Lookup("test-z-encoder")
	a, aok := e.New().(*fakeEncoder)
	b, bok := e.New().(*fakeEncoder)
	if !aok || !bok || a == b || a.n+1 != b.n {
		t.Errorf("New gave %#v and %#v, want two fresh encoders", a, b)
	}
	if _, ok := newOf(t, "test-loss").(*fakeLoss); !ok {
		t.Error("test-loss: New did not give the registered loss")
	}
	if _, ok := newOf(t, "test-dataset").(*fakeDataset); !ok {
		t.Error("test-dataset: New did not give the registered dataset")
	}
	if _, ok := newOf(t, "test-b-evaluator").(*fakeEvaluator); !ok {
		t.Error("test-b-evaluator: New did not give the registered evaluator")
	}
	if _, ok := builtin.Lookup("test-missing"); ok {
		t.Error("Lookup found a name never registered")
	}
}

// newOf is a new instance of the built-in name.
func newOf(t *testing.T, name string) sdk.Plugin {
	t.Helper()
	e, ok := builtin.Lookup(name)
	if !ok {
		t.Fatalf("no built-in %q", name)
	}
	return e.New()
}

// TestListSortedByKindThenName: List orders by kind, then name, whatever
// the order of registration.
func TestListSortedByKindThenName(t *testing.T) {
	var got []string
	for _, e := range builtin.List() {
		if strings.HasPrefix(e.Name, "test-") {
			got = append(got, string(e.Kind)+"/"+e.Name)
		}
	}
	want := []string{"dataset/test-dataset", "encoder/test-a-encoder", "encoder/test-z-encoder", "evaluator/test-b-evaluator", "loss/test-loss"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("List: got %v, want %v", got, want)
	}
}

// TestRegisterTwicePanics: a name registered twice is a programming error
// caught at init.
func TestRegisterTwicePanics(t *testing.T) {
	defer func() {
		r := recover()
		if s, _ := r.(string); !strings.Contains(s, `plugin "test-loss" registered twice`) {
			t.Errorf("recovered %v, want the duplicate named", r)
		}
	}()
	builtin.RegisterDataset("test-loss", func() sdk.Dataset { return &fakeDataset{} })
}

// TestServeUnknownNamesKnown: serving a name never registered is an error
// naming it and the built-ins there are.
func TestServeUnknownNamesKnown(t *testing.T) {
	err := builtin.Serve("test-missing")
	if err == nil || !strings.Contains(err.Error(), `no built-in plugin "test-missing"`) ||
		!strings.Contains(err.Error(), "test-a-encoder, test-z-encoder") {
		t.Errorf("got %v", err)
	}
}

// TestServeAcrossProcesses: Serve serves the built-in it is named in a
// process of its own; its Info arrives over the wire as the plugin gave it.
func TestServeAcrossProcesses(t *testing.T) {
	l := sdktest.Start(t, "test-loss", sdk.KindLoss)
	info, err := l.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != "test-loss" || info.Kind != sdk.KindLoss || info.Version != "9.9.9" || info.Description != "served by builtin.Serve" {
		t.Errorf("Info = %+v", info)
	}
}
