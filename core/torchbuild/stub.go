package torchbuild

import (
	"bufio"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// GeneratedFile is gotch's generated C++ wrapper, one function per op.
const GeneratedFile = "torch_api_generated.cpp.h"

// Func is one generated wrapper function in GeneratedFile.
type Func struct {
	Name       string // e.g. atg__cslt_compress
	ReturnType string // void, int, int64_t, tensor *, ...
	Start, End int    // 1-based line numbers of the signature and closing brace
}

var funcStartRe = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_ ]*?\s*\*?)\s*(atg_[A-Za-z0-9_]+)\(.*\)\s*\{\s*$`)

// ParseFuncs lists the wrapper functions of the generated file. A function
// starts at a top-level signature line ending in "{" and ends at the next
// line that is exactly "}".
func ParseFuncs(src string) []Func {
	var funcs []Func
	lines := strings.Split(src, "\n")
	for i := 0; i < len(lines); i++ {
		m := funcStartRe.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		f := Func{Name: m[2], ReturnType: strings.TrimSpace(m[1]), Start: i + 1}
		for j := i + 1; j < len(lines); j++ {
			if lines[j] == "}" {
				f.End = j + 1
				i = j
				break
			}
		}
		if f.End == 0 {
			break
		}
		funcs = append(funcs, f)
	}
	return funcs
}

var diagLineRe = regexp.MustCompile(regexp.QuoteMeta(GeneratedFile) + `:(\d+):\d+:\s+(error:|required from here)`)

// FailingFuncs maps a compiler's diagnostics on the generated file to the
// names of the functions they fall in. Errors raised inside libtorch's or the
// standard library's headers are attributed through their "required from
// here" line in the generated file.
func FailingFuncs(diagnostics string, funcs []Func) []string {
	seen := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(diagnostics))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		m := diagLineRe.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		line, _ := strconv.Atoi(m[1])
		if f := funcAt(funcs, line); f != nil {
			seen[f.Name] = true
		}
	}
	return slices.Sorted(maps.Keys(seen))
}

func funcAt(funcs []Func, line int) *Func {
	i := sort.Search(len(funcs), func(i int) bool { return funcs[i].End >= line })
	if i < len(funcs) && funcs[i].Start <= line {
		return &funcs[i]
	}
	return nil
}

// OpName is the user-facing op name of a wrapper: atg__cslt_compress is
// _cslt_compress.
func OpName(fn string) string { return strings.TrimPrefix(fn, "atg_") }

// Stub returns src with the body of every function named in names replaced by
// one that raises "op NAME is not available in libtorch VERSION". The error
// travels through gotch's PROTECT macro, so the Go side sees an ordinary
// error. It fails if a name is not a function of src.
func Stub(src string, names []string, version string) (string, error) {
	funcs := ParseFuncs(src)
	byName := make(map[string]Func, len(funcs))
	for _, f := range funcs {
		byName[f.Name] = f
	}
	lines := strings.Split(src, "\n")
	replace := map[int]Func{}
	for _, n := range names {
		f, ok := byName[n]
		if !ok {
			return "", fmt.Errorf("stub %s: no such function in %s", n, GeneratedFile)
		}
		replace[f.Start] = f
	}
	var out strings.Builder
	out.Grow(len(src))
	for i := 0; i < len(lines); i++ {
		f, ok := replace[i+1]
		if !ok {
			out.WriteString(lines[i])
			if i < len(lines)-1 {
				out.WriteByte('\n')
			}
			continue
		}
		out.WriteString(lines[i] + "\n")
		fmt.Fprintf(&out, "  PROTECT(\n    throw std::runtime_error(\"op %s is not available in libtorch %s\");\n  )\n", OpName(f.Name), version)
		if ret := zeroReturn(f.ReturnType); ret != "" {
			out.WriteString("  return " + ret + ";\n")
		}
		out.WriteString("}")
		if f.End < len(lines) {
			out.WriteByte('\n')
		}
		i = f.End - 1
	}
	return out.String(), nil
}

func zeroReturn(t string) string {
	switch {
	case t == "void":
		return ""
	case strings.HasSuffix(t, "*"):
		return "nullptr"
	default:
		return "0"
	}
}

// ParseStubList reads a stub list: one function name per line, with blank
// lines and "#" comments ignored.
func ParseStubList(text string) []string {
	var names []string
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		names = append(names, l)
	}
	return names
}

// FormatStubList writes names as a stub list with a header comment.
func FormatStubList(version string, names []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# gotch v0.9.1 generated ops that libtorch %s lacks; written by cmd/fitgotch.\n", version)
	b.WriteString("# One wrapper function per line; each is compiled as a body that raises a clear error.\n")
	sorted := append([]string(nil), names...)
	sort.Strings(sorted)
	for _, n := range sorted {
		b.WriteString(n + "\n")
	}
	return b.String()
}
