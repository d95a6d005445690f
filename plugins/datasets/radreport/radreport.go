// Package radreport parses free-text radiology reports in the MIMIC-CXR style:
// a "FINAL REPORT" line, then sections whose header lines are upper-case
// words ending in a colon (" FINDINGS:", " IMPRESSION:"), and splits section
// text into sentences.
package radreport

import (
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Section is one titled part of a report.
type Section struct {
	Name string // upper case, without the colon, e.g. "FINDINGS"
	Text string // the section's text, whitespace collapsed
	Line int    // 1-based line of the header
}

// Report is a parsed report.
type Report struct {
	// Preamble is the text before the first section header (minus the
	// FINAL REPORT line).
	Preamble string
	Sections []Section
}

// Parse splits text into sections. It never fails: text without headers
// becomes the preamble.
func Parse(text string) Report {
	var r Report
	var cur *Section
	var buf []string
	flush := func() {
		t := collapse(strings.Join(buf, " "))
		if cur == nil {
			r.Preamble = t
		} else {
			cur.Text = t
			r.Sections = append(r.Sections, *cur)
		}
		buf = buf[:0]
	}
	for i, line := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		if cur == nil && strings.TrimSpace(line) == "FINAL REPORT" {
			continue
		}
		if name, rest, ok := header(line); ok {
			flush()
			cur = &Section{Name: name, Line: i + 1}
			buf = append(buf, rest)
			continue
		}
		buf = append(buf, line)
	}
	flush()
	return r
}

// header recognises "  NAME:  rest" where NAME is 2-40 upper-case letters,
// spaces, slashes or parentheses.
func header(line string) (name, rest string, ok bool) {
	s := strings.TrimLeft(line, " \t")
	colon := strings.IndexByte(s, ':')
	if colon < 2 || colon > 40 {
		return "", "", false
	}
	n := strings.TrimSpace(s[:colon])
	letters := 0
	for _, c := range n {
		switch {
		case c >= 'A' && c <= 'Z':
			letters++
		case c == ' ' || c == '/' || c == '(' || c == ')' || c == '&' || c == '-':
		default:
			return "", "", false
		}
	}
	if letters < 2 {
		return "", "", false
	}
	return n, s[colon+1:], true
}

// Get returns the text of the first section with one of the names, or "".
func (r Report) Get(names ...string) string {
	for _, s := range r.Sections {
		for _, n := range names {
			if s.Name == n {
				return s.Text
			}
		}
	}
	return ""
}

// ErrEmpty is returned for a report with no usable text.
var ErrEmpty = errors.New("report has no text")

// ErrNotUTF8 is returned for a report that is not valid UTF-8.
var ErrNotUTF8 = errors.New("report is not valid UTF-8")

// FindingsImpression returns the Findings and Impression text of a report
// (CONCLUSION standing in for IMPRESSION), joined by a space. A report with
// neither falls back to its last non-empty section or paragraph, as the
// MIMIC-CXR tooling does.
func FindingsImpression(text string) (string, error) {
	if !utf8.ValidString(text) {
		return "", ErrNotUTF8
	}
	r := Parse(text)
	var parts []string
	if f := r.Get("FINDINGS", "FINDINGS AND IMPRESSION"); f != "" {
		parts = append(parts, f)
	}
	if im := r.Get("IMPRESSION", "CONCLUSION", "CONCLUSIONS", "SUMMARY"); im != "" {
		parts = append(parts, im)
	}
	if len(parts) > 0 {
		return strings.Join(parts, " "), nil
	}
	if last := lastParagraph(text); last != "" {
		return last, nil
	}
	return "", ErrEmpty
}

// lastParagraph returns the last blank-line separated block with text,
// without a section header.
func lastParagraph(text string) string {
	paras := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n\n")
	for i := len(paras) - 1; i >= 0; i-- {
		p := strings.TrimSpace(paras[i])
		if p == "" || p == "FINAL REPORT" {
			continue
		}
		if _, rest, ok := header(p); ok {
			p = rest
		}
		if p = collapse(p); p != "" {
			return p
		}
	}
	return ""
}

func collapse(s string) string { return strings.Join(strings.Fields(s), " ") }

// Sentences splits text at '.', '?' and '!' followed by white space (not at
// decimal points or single-letter abbreviations), drops list numbers ("1.")
// and pieces without letters, and collapses white space.
func Sentences(text string) []string {
	text = collapse(text)
	var out []string
	start := 0
	rs := []rune(text)
	for i, c := range rs {
		if c != '.' && c != '?' && c != '!' {
			continue
		}
		if i+1 < len(rs) && !unicode.IsSpace(rs[i+1]) {
			continue
		}
		if c == '.' && abbreviation(rs[start:i]) {
			continue
		}
		out = appendSentence(out, string(rs[start:i+1]))
		start = i + 1
	}
	return appendSentence(out, string(rs[start:]))
}

// abbreviation reports whether the word before a period is a single letter
// or a common abbreviation, so the period does not end a sentence.
func abbreviation(before []rune) bool {
	j := len(before)
	for j > 0 && !unicode.IsSpace(before[j-1]) {
		j--
	}
	w := strings.ToLower(string(before[j:]))
	switch w {
	case "dr", "e.g", "i.e", "approx", "vs", "mr", "mrs", "ms", "st", "a.m", "p.m":
		return true
	}
	return len([]rune(w)) == 1 && unicode.IsLetter([]rune(w)[0])
}

func appendSentence(out []string, s string) []string {
	s = strings.TrimSpace(s)
	// Drop a leading list number such as "1." or "2)".
	if f := strings.Fields(s); len(f) > 1 && isListNumber(f[0]) {
		s = strings.TrimSpace(s[len(f[0]):])
	}
	for _, c := range s {
		if unicode.IsLetter(c) {
			return append(out, s)
		}
	}
	return out
}

func isListNumber(w string) bool {
	w = strings.TrimRight(w, ".)")
	if w == "" {
		return false
	}
	for _, c := range w {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
