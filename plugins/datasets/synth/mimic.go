package synth

import (
	"context"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"strconv"

	"github.com/convirt/convirt/plugins/models/wordpiece"
)

type mimicStudy struct {
	subject, study int
	findings       Findings
	report         string
	labels         map[string]string
	images         []mimicImage
	split          string
}

type mimicImage struct {
	dicomID, view string
}

// MIMICLabelColumns are the 14 CheXpert labeller columns of the MIMIC
// chexpert file, in its alphabetical order.
var MIMICLabelColumns = []string{"Atelectasis", "Cardiomegaly", "Consolidation", "Edema",
	"Enlarged Cardiomediastinum", "Fracture", "Lung Lesion", "Lung Opacity", "No Finding",
	"Pleural Effusion", "Pleural Other", "Pneumonia", "Pneumothorax", "Support Devices"}

func hexID(r interface{ Uint32() uint32 }) string {
	return fmt.Sprintf("%08x-%08x-%08x-%08x-%08x", r.Uint32(), r.Uint32(), r.Uint32(), r.Uint32(), r.Uint32())
}

func writeMIMIC(ctx context.Context, dir string, c Config, vocab *wordpiece.VocabBuilder) error {
	root := filepath.Join(dir, "MIMIC-CXR")
	studies := make([]mimicStudy, c.Studies)
	subject := 10000000
	for i := range studies {
		rng := rngFor(c.Seed, streamMIMIC, i)
		if i == 0 || rng.IntN(3) == 0 {
			subject += 1 + rng.IntN(50)
		}
		s := &studies[i]
		s.subject, s.study = subject, 50000000+i*37+rng.IntN(37)
		s.findings = Sample(rng, c.UncertainP)
		t := Describe(rng, s.findings)
		s.labels = s.findings.Labels(t.Negated)
		view := "PA"
		if rng.IntN(3) == 0 {
			view = "AP"
		}
		style := 0
		switch r := rng.IntN(100); {
		case r < 4:
			style = 1
		case r < 7:
			style = 2
		case r < 9:
			style = 3
		}
		s.report = MIMICReport(rng, t, view, style)
		vocab.Add(s.report)
		s.images = []mimicImage{{hexID(rng), view}}
		if rng.Float64() < 0.3 {
			s.images = append(s.images, mimicImage{hexID(rng), "LATERAL"})
		}
		switch h := splitHash(c.Seed, s.subject); {
		case h < 3:
			s.split = "validate"
		case h < 6:
			s.split = "test"
		default:
			s.split = "train"
		}
	}
	err := parallel(ctx, len(studies), c, func(i int) error {
		s := studies[i]
		sub := "p" + strconv.Itoa(s.subject)
		base := filepath.Join(root, "files", sub[:3], sub)
		if err := os.MkdirAll(base, 0o755); err != nil {
			return err
		}
		stu := "s" + strconv.Itoa(s.study)
		if err := os.WriteFile(filepath.Join(base, stu+".txt"), []byte(s.report), 0o644); err != nil {
			return err
		}
		rng := rngFor(c.Seed, streamMIMIC+100, i)
		for _, im := range s.images {
			img := RenderChest(rng, c.Size, s.findings)
			if im.view == "LATERAL" {
				img = RenderLateral(rng, c.Size, s.findings)
			}
			if err := writeJPEG(filepath.Join(base, stu, im.dicomID+".jpg"), img); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	split := [][]string{{"dicom_id", "study_id", "subject_id", "split"}}
	meta := [][]string{{"dicom_id", "subject_id", "study_id", "PerformedProcedureStepDescription", "ViewPosition",
		"Rows", "Columns", "StudyDate", "StudyTime", "ProcedureCodeSequence_CodeMeaning",
		"ViewCodeSequence_CodeMeaning", "PatientOrientationCodeSequence_CodeMeaning"}}
	labels := [][]string{append([]string{"subject_id", "study_id"}, MIMICLabelColumns...)}
	size := strconv.Itoa(c.Size)
	for i, s := range studies {
		sub, stu := strconv.Itoa(s.subject), strconv.Itoa(s.study)
		for _, im := range s.images {
			split = append(split, []string{im.dicomID, stu, sub, s.split})
			vc := "postero-anterior"
			switch im.view {
			case "AP":
				vc = "antero-posterior"
			case "LATERAL":
				vc = "lateral"
			}
			meta = append(meta, []string{im.dicomID, sub, stu, "CHEST (PA AND LAT)", im.view, size, size,
				strconv.Itoa(21000101 + i%28), "120000.000", "CHEST (PA AND LAT)", vc, "Erect"})
		}
		row := []string{sub, stu}
		for _, col := range MIMICLabelColumns {
			row = append(row, s.labels[col])
		}
		labels = append(labels, row)
	}
	for name, rows := range map[string][][]string{"split": split, "metadata": meta, "chexpert": labels} {
		if err := writeCSV(filepath.Join(root, "mimic-cxr-2.0.0-"+name+".csv.gz"), rows); err != nil {
			return err
		}
	}
	return nil
}

// splitHash maps a subject to [0,100) so that a subject's studies share a
// split.
func splitHash(seed int64, subject int) int {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d/%d", seed, subject)
	return int(h.Sum64() % 100)
}
