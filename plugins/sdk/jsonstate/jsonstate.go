// Package jsonstate is the checkpoint encoding of a plugin state kept as a
// small JSON document with a version field (sdk.Stateful's State and
// SetState), shared so that every such plugin encodes, version-checks and
// reports errors alike.
package jsonstate

import (
	"encoding/json"
	"fmt"
)

// Versioned is a decoded state that says which version of its encoding it
// is (its "version" field).
type Versioned interface {
	StateVersion() int
}

// Header is the version field a state embeds first (its "version" key),
// which makes it Versioned.
type Header struct {
	Version int `json:"version"`
}

// StateVersion is the version the state was encoded in.
func (h *Header) StateVersion() int { return h.Version }

// Encode returns st as JSON. Errors name the plugin.
func Encode(plugin string, st any) ([]byte, error) {
	b, err := json.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("%s: encode state: %w", plugin, err)
	}
	return b, nil
}

// Decode reads b, as Encode wrote it, into st and checks that its version
// is want. Errors name the plugin. Checking the values themselves is the
// caller's.
func Decode(plugin string, b []byte, st Versioned, want int) error {
	if err := json.Unmarshal(b, st); err != nil {
		return fmt.Errorf("%s: decode state: %w", plugin, err)
	}
	if v := st.StateVersion(); v != want {
		return fmt.Errorf("%s: state version %d, want %d", plugin, v, want)
	}
	return nil
}
