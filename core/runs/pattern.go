package runs

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Patterns selects metric or param names for `convirt runs list --metrics`,
// `--params` and `runs compare --filter`. Each pattern is one of:
//
//   - a glob (it has one of * ? [): * and ? match any characters, '/'
//     included, and [...] a class; it must match the whole name or a
//     trailing part of it that starts after a '/' (or '.'), so
//     "linear/*/auc" matches "eval/chexpert-linear/linear/convirt/f0.1/auc";
//   - otherwise a substring: "auc" matches every name containing it.
//
// A name is selected when any pattern matches it.
type Patterns []*pattern

type pattern struct {
	text string
	re   *regexp.Regexp // nil: a substring
}

// ParsePatterns parses a comma-separated list of patterns; empty items are
// skipped, so "" is no pattern. A malformed glob (an unclosed '[') is an
// error naming it.
func ParsePatterns(list string) (Patterns, error) {
	var out Patterns
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		p := &pattern{text: s}
		if strings.ContainsAny(s, "*?[") {
			re, err := globRegexp(s)
			if err != nil {
				return nil, fmt.Errorf("pattern %q: %w", s, err)
			}
			p.re = re
		}
		out = append(out, p)
	}
	return out, nil
}

// globRegexp translates a glob into a regexp anchored at the end of the
// name and at its start or after a '/' or '.'.
func globRegexp(glob string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString(`^(?:.*[/.])?`)
	for i := 0; i < len(glob); i++ {
		switch c := glob[i]; c {
		case '*':
			b.WriteString(`.*`)
		case '?':
			b.WriteString(`.`)
		case '[':
			end := strings.IndexByte(glob[i+1:], ']')
			if end < 0 {
				return nil, fmt.Errorf("unclosed '['")
			}
			class := glob[i+1 : i+1+end]
			if strings.HasPrefix(class, "!") {
				class = "^" + class[1:]
			}
			b.WriteString("[" + strings.ReplaceAll(class, `\`, `\\`) + "]")
			i += end + 1
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString(`$`)
	return regexp.Compile(b.String())
}

// Match reports whether any pattern matches name.
func (ps Patterns) Match(name string) bool {
	return slices.ContainsFunc(ps, func(p *pattern) bool { return p.match(name) })
}

func (p *pattern) match(name string) bool {
	if p.re == nil {
		return strings.Contains(name, p.text)
	}
	return p.re.MatchString(name)
}

// Select returns the names that match, ordered by the first pattern each
// matches (so the patterns' order is the columns' order), then as in names.
func (ps Patterns) Select(names []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, p := range ps {
		for _, n := range names {
			if !seen[n] && p.match(n) {
				seen[n] = true
				out = append(out, n)
			}
		}
	}
	return out
}

// String is the list as it was given, normalised.
func (ps Patterns) String() string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.text
	}
	return strings.Join(s, ",")
}
