package report

import (
	"context"
	"fmt"
	"html"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/convirt/convirt/core/runs"
)

// chromium finds Debian's chromium (`make setup` installs it): a missing
// browser fails the test under CI (env CI set) and skips it elsewhere.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium not found: CI must check report.html in a real browser; `make setup` installs Debian's chromium")
	}
	t.Skip("chromium not found: install it (`make setup`, or apt-get install chromium) to check report.html in a browser")
	return ""
}

// probe is added to a copy of report.html (the report itself has no
// scripts): once the page has loaded and laid out, it records in the DOM
// how many images there are, which of them did not decode, where the first
// headline figure and the raw metrics sit, and the page's rendered text.
const probe = `<script>
window.addEventListener("load", () => {
  const imgs = [...document.images];
  const broken = imgs.filter(i => !i.complete || i.naturalWidth === 0).map(i => i.alt);
  const first = document.querySelector("section img");
  const raw = document.getElementById("raw-metrics");
  const out = document.createElement("pre");
  out.id = "probe";
  out.textContent = JSON.stringify({images: imgs.length, broken: broken,
    firstFigureTop: first ? Math.round(first.getBoundingClientRect().top + window.scrollY) : -1,
    rawTop: raw ? Math.round(raw.getBoundingClientRect().top + window.scrollY) : -1,
    rawOpen: raw ? raw.open : null});
  const text = document.createElement("pre");
  text.id = "rendered-text";
  text.textContent = document.body.innerText;
  document.body.append(out, text);
});
</script>`

// TestReportInBrowser renders the report of a small run in headless
// chromium: every image decodes, the first figure (the headline) is near
// the top, the raw metrics come last and collapsed, and the rendered text
// holds the headline numbers of results.json, the paper's figures beside
// them, and counts as integers.
func TestReportInBrowser(t *testing.T) {
	bin := chromium(t)
	root := t.TempDir()
	r, entries := fixtureRun(t, root)
	if err := r.Finish(runs.Finished); err != nil {
		t.Fatal(err)
	}
	p, err := Build(r.Dir(), Options{Inits: []string{"convirt", "random"}, Paper: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteHTML(r.Dir(), p); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(r.Path(runs.ReportFile))
	if err != nil {
		t.Fatal(err)
	}
	page := filepath.Join(root, "probe.html")
	if err := os.WriteFile(page, []byte(strings.Replace(string(b), "</body>", probe+"</body>", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--no-first-run", "--user-data-dir="+filepath.Join(root, "profile"), "--window-size=1280,900",
		"--virtual-time-budget=10000", "--dump-dom", "file://"+page)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	dom, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	m := regexp.MustCompile(`(?s)<pre id="probe">(.*?)</pre>`).FindSubmatch(dom)
	if m == nil {
		t.Fatalf("the probe did not run: no #probe in chromium's DOM (stderr: %s)", stderr.String())
	}
	got := html.UnescapeString(string(m[1]))
	var images, top, rawTop int
	if _, err := fmt.Sscanf(field(got, "images"), "%d", &images); err != nil {
		t.Fatalf("probe %s: %v", got, err)
	}
	top, _ = strconv.Atoi(field(got, "firstFigureTop"))
	rawTop, _ = strconv.Atoi(field(got, "rawTop"))
	if want := strings.Count(string(b), "<img "); images != want || images < 8 {
		t.Errorf("chromium saw %d images, report.html has %d (want at least 8)", images, want)
	}
	if field(got, "broken") != "[]" {
		t.Errorf("broken images: %s", field(got, "broken"))
	}
	if top < 0 || top > 900 {
		t.Errorf("first figure at %d px, want it within the first screen (900 px)", top)
	}
	if rawTop < top || field(got, "rawOpen") != "false" {
		t.Errorf("raw metrics at %d px (open %s), want them collapsed after the figures (first at %d px)", rawTop, field(got, "rawOpen"), top)
	}
	tm := regexp.MustCompile(`(?s)<pre id="rendered-text">(.*?)</pre>`).FindSubmatch(dom)
	if tm == nil {
		t.Fatal("no rendered text in chromium's DOM")
	}
	text := html.UnescapeString(string(tm[1]))
	for _, e := range entries {
		if e.Metric != "auc" {
			continue
		}
		if want := cellText(e); !strings.Contains(text, want) {
			t.Errorf("rendered text lacks the headline %s %s %g: %q", e.Init, e.Metric, e.Fraction, want)
		}
	}
	for _, want := range []string{"finished", "standard deviation over seeds", "(paper 85.9)", "(paper 87.3)", "Learning rate", "Mild pulmonary edema."} {
		if !strings.Contains(text, want) {
			t.Errorf("rendered text lacks %q", want)
		}
	}
	if !strings.Contains(string(dom), "<td>237</td>") || strings.Contains(string(dom), "237.0") {
		t.Error("the count 237 is not printed as the integer 237 in the raw metrics")
	}
}

// field reads one value of the probe's flat JSON object as text.
func field(js, key string) string {
	m := regexp.MustCompile(`"` + key + `":(\[[^\]]*\]|[^,}]*)`).FindStringSubmatch(js)
	if m == nil {
		return ""
	}
	return m[1]
}
