package recipe

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/convirt/convirt/plugins/sdk/schema"
)

// envRef matches ${VAR} and ${VAR:-default}.
var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)

// escapedEnv is how a literal "${" is written in a recipe.
const escapedEnv = "$${"

// expandAll expands environment references in every string value of m, in
// place, reporting unset variables without a default against file and line.
func (l *loader) expandAll(m map[string]any, prefix, file string, lines map[string]int) {
	for k, v := range m {
		m[k] = l.expandValue(v, schema.JoinPath(prefix, k), file, lines)
	}
}

func (l *loader) expandValue(v any, path, file string, lines map[string]int) any {
	if l.stopped() {
		return v
	}
	switch x := v.(type) {
	case string:
		s, missing := expandEnv(x, l.getenv)
		for _, name := range missing {
			l.errorf(file, lines[path], path, "environment variable %s is not set (give a default with ${%s:-value})", name, name)
		}
		return s
	case map[string]any:
		l.expandAll(x, path, file, lines)
	case []any:
		for i, e := range x {
			x[i] = l.expandValue(e, schema.JoinPath(path, strconv.Itoa(i)), file, lines)
		}
	}
	return v
}

// expandEnv replaces ${VAR} and ${VAR:-default} in s; "$${" stays a literal
// "${". It returns the names of unset variables that had no default.
func expandEnv(s string, getenv func(string) (string, bool)) (string, []string) {
	if !strings.Contains(s, "${") {
		return s, nil
	}
	var missing []string
	parts := strings.Split(s, escapedEnv)
	for i, p := range parts {
		parts[i] = envRef.ReplaceAllStringFunc(p, func(ref string) string {
			m := envRef.FindStringSubmatch(ref)
			if v, ok := getenv(m[1]); ok && v != "" {
				return v
			}
			if m[2] != "" {
				return m[3]
			}
			missing = append(missing, m[1])
			return ""
		})
	}
	return strings.Join(parts, "${"), missing
}

// escapeEnv makes s survive expandEnv unchanged.
func escapeEnv(s string) string {
	return strings.ReplaceAll(s, "${", escapedEnv)
}
