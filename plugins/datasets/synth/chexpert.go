package synth

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"

	"github.com/convirt/convirt/plugins/models/wordpiece"
)

// CheXpertHeader is the header of CheXpert's train.csv and valid.csv.
var CheXpertHeader = append([]string{"Path", "Sex", "Age", "Frontal/Lateral", "AP/PA"}, CheXpertColumns...)

type chexImage struct {
	path     string // relative to the directory above the dataset
	frontal  bool
	view     string
	findings Findings
	row      []string
}

func chexRows(c Config, split string, n, first int, expert bool) []chexImage {
	var out []chexImage
	for i := range n {
		rng := rngFor(c.Seed, streamCheXpert, first+i)
		f := Sample(rng, c.UncertainP)
		neg := Describe(rng, f).Negated
		if expert { // the expert-labelled validation set has no uncertain labels
			f.Uncertain = map[string]bool{}
			for _, name := range FindingNames {
				neg[name] = true
			}
		}
		labels := f.Labels(neg)
		sex, age := pick(rng, "Male", "Female"), strconv.Itoa(18+rng.IntN(72))
		views := []string{pick(rng, "AP", "AP", "PA")}
		if rng.Float64() < 0.2 {
			views = append(views, "")
		}
		for v, ap := range views {
			kind, name := "Frontal", fmt.Sprintf("view%d_frontal.jpg", v+1)
			if ap == "" {
				kind, name = "Lateral", fmt.Sprintf("view%d_lateral.jpg", v+1)
			}
			p := fmt.Sprintf("CheXpert-v1.0-small/%s/patient%05d/study1/%s", split, first+i+1, name)
			row := []string{p, sex, age, kind, ap}
			for _, col := range CheXpertColumns {
				row = append(row, labels[col])
			}
			out = append(out, chexImage{path: p, frontal: ap != "", view: ap, findings: f, row: row})
		}
	}
	return out
}

// chexSplits are CheXpert's train and valid images.
func chexSplits(c Config) (train, valid []chexImage) {
	return chexRows(c, "train", c.Studies, 0, false), chexRows(c, "valid", min(max(c.Studies/20, 20), 234), 64540, true)
}

func writeCheXpert(ctx context.Context, dir string, c Config, vocab *wordpiece.VocabBuilder) error {
	train, valid := chexSplits(c)
	all := append(append([]chexImage(nil), train...), valid...)
	err := parallel(ctx, len(all), c, func(i int) error {
		im := all[i]
		rng := rngFor(c.Seed, streamCheXpert+100, i)
		img := RenderChest(rng, c.Size, im.findings)
		if !im.frontal {
			img = RenderLateral(rng, c.Size, im.findings)
		}
		return writeJPEG(filepath.Join(dir, filepath.FromSlash(im.path)), img)
	})
	if err != nil {
		return err
	}
	for name, set := range map[string][]chexImage{"train.csv": train, "valid.csv": valid} {
		rows := [][]string{CheXpertHeader}
		for _, im := range set {
			rows = append(rows, im.row)
		}
		if err := writeCSV(filepath.Join(dir, "CheXpert-v1.0-small", name), rows); err != nil {
			return err
		}
	}
	return writeRetrieval(dir, c, train, vocab)
}

// RetrievalCategories are the categories of the synthetic 8x200-style
// retrieval set: the five synthetic findings and No Finding.
var RetrievalCategories = []string{Cardiomegaly, Consolidation, LungLesion, "No Finding", Effusion, Pneumothorax}

var textQueries = map[string][]string{
	Cardiomegaly:  {"The heart is enlarged.", "Cardiomegaly is present.", "The cardiac silhouette is enlarged.", "Cardiac enlargement is seen.", "The heart shadow is enlarged."},
	Consolidation: {"Focal consolidation is present.", "There is a lobar consolidation.", "An airspace opacity suggests pneumonia.", "Consolidation in the lung.", "A focal airspace consolidation is seen."},
	LungLesion:    {"A pulmonary nodule is present.", "There is a lung nodule.", "A rounded nodular opacity is seen.", "A lung lesion is present.", "A small pulmonary mass is seen."},
	"No Finding":  {"The lungs are clear.", "No abnormalities are present.", "The chest is normal.", "No acute cardiopulmonary process.", "Normal chest radiograph."},
	Effusion:      {"A pleural effusion is present.", "Blunting of the costophrenic angle represents pleural effusion.", "Pleural fluid is present.", "There is a pleural effusion.", "Layering pleural effusion is present."},
	Pneumothorax:  {"A pneumothorax is present.", "An apical pneumothorax is seen.", "A pleural line with absent lung markings suggests pneumothorax.", "Pleural air is present.", "There is a pneumothorax."},
}

// writeRetrieval writes convirt-retrieval/{image,text}-retrieval/ in the
// authors' format: candidates with exactly one positive category (200 per
// category where the corpus has them), 10 query images per category drawn
// from other images, and 5 text queries per category.
func writeRetrieval(dir string, c Config, train []chexImage, vocab *wordpiece.VocabBuilder) error {
	by := map[string][]chexImage{}
	for _, im := range train {
		if !im.frontal {
			continue
		}
		var pos []string
		for _, cat := range RetrievalCategories {
			if v := im.row[len(CheXpertHeader)-len(CheXpertColumns)+colIndex(cat)]; v == "1.0" {
				pos = append(pos, cat)
			} else if v == "-1.0" {
				pos = append(pos, "?")
			}
		}
		if len(pos) == 1 && pos[0] != "?" {
			by[pos[0]] = append(by[pos[0]], im)
		}
	}
	rng := rngFor(c.Seed, streamRetrieval, 0)
	cand := [][]string{CheXpertHeader}
	imgQ := [][]string{{"Variable", "Path"}}
	txtQ := [][]string{{"Variable", "Text"}}
	for _, cat := range RetrievalCategories {
		ims := by[cat]
		rng.Shuffle(len(ims), func(i, j int) { ims[i], ims[j] = ims[j], ims[i] })
		nq := min(10, len(ims)/3)
		for _, im := range ims[:nq] {
			imgQ = append(imgQ, []string{cat, im.path})
		}
		for _, im := range ims[nq:min(len(ims), nq+200)] {
			cand = append(cand, im.row)
		}
		for _, q := range textQueries[cat] {
			txtQ = append(txtQ, []string{cat, q})
			vocab.Add(q)
		}
	}
	base := filepath.Join(dir, "convirt-retrieval")
	for _, f := range []struct {
		path string
		rows [][]string
	}{{"image-retrieval/candidate.csv", cand}, {"image-retrieval/query.csv", imgQ},
		{"text-retrieval/candidate.csv", cand}, {"text-retrieval/query.csv", txtQ}} {
		if err := writeCSV(filepath.Join(base, filepath.FromSlash(f.path)), f.rows); err != nil {
			return err
		}
	}
	return nil
}

func colIndex(name string) int {
	for i, c := range CheXpertColumns {
		if c == name {
			return i
		}
	}
	return -1
}
