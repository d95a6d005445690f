package catalog

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/convirt/convirt/plugins/datasets/source"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/schema"
)

// entry builds a Dataset whose options decode into the reader's Config C.
func entry[C any](name string, splits []string, doc string, fields []schema.Field,
	open func(root, split string, c C) (*source.Slice, error)) Dataset {
	d := Dataset{Name: name, Splits: splits, Doc: doc, Fields: fields}
	d.bind = func(opts map[string]any) (opener, error) {
		var c C
		if err := decode(name, fields, opts, &c); err != nil {
			return nil, err
		}
		return func(root, split string) (*source.Slice, error) { return open(root, split, c) }, nil
	}
	return d
}

// decode checks opts against fields (unknown keys, types, enums, including
// the values of Map fields with an Enum), fills in the fields' defaults,
// decodes the result into dst and runs dst's Validate method, if any.
func decode(name string, fields []schema.Field, opts map[string]any, dst any) error {
	s := schema.Schema{Fields: fields}
	issues := s.Check("", opts)
	issues = append(issues, mapEnums(fields, opts)...)
	if err := IssuesError(name, issues); err != nil {
		return err
	}
	full, _ := schema.Normalize(opts).(map[string]any)
	if full == nil {
		full = map[string]any{}
	}
	s.ApplyDefaults("", full)
	if err := sdk.DecodeConfig(full, dst); err != nil {
		return fmt.Errorf("dataset %s: %w", name, err)
	}
	if v, ok := dst.(interface{ Validate() error }); ok {
		if err := v.Validate(); err != nil {
			return fmt.Errorf("dataset %s: %w", name, err)
		}
	}
	return nil
}

// IssuesError turns schema issues found in dataset's config into one error
// naming every key at fault (nil when there are none).
func IssuesError(dataset string, issues []schema.Issue) error {
	if len(issues) == 0 {
		return nil
	}
	msgs := make([]string, len(issues))
	for i, is := range issues {
		msgs[i] = fmt.Sprintf("config key %s %s", is.Path, is.Message)
		if is.Suggestion != "" {
			msgs[i] += fmt.Sprintf(" (did you mean %s?)", is.Suggestion)
		}
	}
	return fmt.Errorf("dataset %s: %s", dataset, strings.Join(msgs, "; "))
}

// mapEnums checks the values of Map fields that have an Enum, which
// schema.Check leaves alone.
func mapEnums(fields []schema.Field, opts map[string]any) []schema.Issue {
	var out []schema.Issue
	for _, f := range fields {
		m, ok := opts[f.Name].(map[string]any)
		if f.Type != schema.Map || len(f.Enum) == 0 || !ok {
			continue
		}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			v, isStr := m[k].(string)
			if !isStr || !slices.Contains(f.Enum, v) {
				out = append(out, schema.Issue{Path: schema.JoinPath(f.Name, k),
					Message:    fmt.Sprintf("value %v is not one of %s", m[k], strings.Join(f.Enum, ", ")),
					Suggestion: schema.Suggest(fmt.Sprint(m[k]), f.Enum)})
			}
		}
	}
	return out
}
