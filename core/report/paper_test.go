package report

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// paperFig prints a cell as docs/paper.md does: one decimal, ~ when
// unchecked.
func paperFig(t *testing.T, p *PaperNumbers, task, protocol, init, metric string, fraction float64) string {
	t.Helper()
	c, ok := p.Lookup(task, protocol, init, metric, fraction)
	if !ok {
		t.Fatalf("paper.json has no %s %s %s %s at %g", task, protocol, init, metric, fraction)
	}
	s := fmt.Sprintf("%.1f", c.Percent)
	if !c.Checked {
		s = "~" + s
	}
	return s
}

// paperTasks are Table 1's columns: dataset plugin, metric, fractions.
var paperTasks = []struct {
	name, task, metric string
	fractions          []float64
}{
	{"RSNA", "rsna", "auc", []float64{0.01, 0.1, 1}},
	{"CheXpert", "chexpert", "auc", []float64{0.01, 0.1, 1}},
	{"COVIDx", "covidx", "accuracy", []float64{0.1, 1}},
	{"MURA", "mura", "auc", []float64{0.01, 0.1, 1}},
}

// TestPaperDocAgrees: docs/paper.md prints exactly the figures of
// paper.json, the one machine-readable copy the report puts beside a paper
// recipe's results; a figure changed in one place only fails here.
func TestPaperDocAgrees(t *testing.T) {
	p, err := Paper()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("../../docs/paper.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.Join(strings.Fields(string(b)), " ")
	var want []string
	for _, init := range [][2]string{{"random", "random"}, {"ImageNet", "imagenet"}, {"ConVIRT", "convirt"}} {
		row := "| " + init[0] + " |"
		for _, tk := range paperTasks {
			var fs []string
			for _, f := range tk.fractions {
				fs = append(fs, paperFig(t, p, tk.task, "linear", init[1], tk.metric, f))
			}
			row += " " + strings.Join(fs, " / ") + " |"
		}
		want = append(want, row)
	}
	ft := "Fine-tuning, ConVIRT:"
	for i, tk := range paperTasks {
		var fs []string
		for _, f := range tk.fractions {
			fs = append(fs, paperFig(t, p, tk.task, "finetune", "convirt", tk.metric, f))
		}
		sep := ";"
		if i == len(paperTasks)-1 {
			sep = "."
		}
		ft += " " + tk.name + " " + strings.Join(fs, " / ") + sep
	}
	want = append(want, ft, fmt.Sprintf("Retrieval, Precision@10: ImageNet image-image %s; ConVIRT image-image %s; ConVIRT text-image P@5 %s, P@10 %s.",
		paperFig(t, p, "chexpert-8x200", "retrieval-image", "imagenet", "p@10", 1),
		paperFig(t, p, "chexpert-8x200", "retrieval-image", "convirt", "p@10", 1),
		paperFig(t, p, "chexpert-8x200", "retrieval-text", "convirt", "p@5", 1),
		paperFig(t, p, "chexpert-8x200", "retrieval-text", "convirt", "p@10", 1)))
	for _, w := range want {
		if !strings.Contains(doc, w) {
			t.Errorf("docs/paper.md lacks %q (core/report/paper.json's figures)", w)
		}
	}
	// Every cell of paper.json is printed above: 3 inits x 11 linear
	// cells, 11 fine-tuning cells, 4 retrieval cells.
	if len(p.Cells) != 3*11+11+4 {
		t.Errorf("paper.json has %d cells; the doc prints %d", len(p.Cells), 3*11+11+4)
	}
}
