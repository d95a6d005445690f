package synth

import (
	"context"
	"fmt"
	"image"
	"io"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strconv"

	"github.com/convirt/convirt/plugins/datasets/dicom"
	"github.com/convirt/convirt/plugins/models/wordpiece"
)

// writeRSNA writes stage_2_train_labels.csv, stage_2_detailed_class_info.csv
// and one DICOM per patient, cycling through every transfer syntax,
// MONOCHROME1/2 and 8/16-bit storage. Pneumonia is the consolidation
// finding; its box is the opacity's bounding box.
func writeRSNA(ctx context.Context, dir string, c Config, vocab *wordpiece.VocabBuilder) error {
	root := filepath.Join(dir, "RSNA")
	n := halfStudies(c)
	type patient struct {
		id string
		f  Findings
	}
	ps := make([]patient, n)
	for i := range ps {
		rng := rngFor(c.Seed, streamRSNA, i)
		ps[i] = patient{id: hexID(rng)[:36], f: Sample(rng, 0)}
		ps[i].id = ps[i].id[:8] + "-" + ps[i].id[9:13] + "-" + ps[i].id[14:18] + "-" + ps[i].id[18:22] + "-" + ps[i].id[23:35]
	}
	err := parallel(ctx, n, c, func(i int) error {
		p := ps[i]
		rng := rngFor(c.Seed, streamRSNA+100, i)
		g := RenderChest(rng, c.Size, p.f)
		im := &dicom.Image{Rows: c.Size, Columns: c.Size, BitsAllocated: 8, BitsStored: 8,
			Photometric: "MONOCHROME2", PatientID: p.id, Pixels: make([]int32, c.Size*c.Size)}
		for k, v := range g.Pix {
			im.Pixels[k] = int32(v)
		}
		ts := dicom.TransferSyntaxes[i%len(dicom.TransferSyntaxes)]
		if ts != dicom.JPEGBaseline {
			if i%3 == 1 { // 12 bits stored in 16
				im.BitsAllocated, im.BitsStored = 16, 12
				for k := range im.Pixels {
					im.Pixels[k] *= 16
				}
			}
			if i%4 == 2 {
				im.Photometric = "MONOCHROME1"
				top := int32(1)<<uint(im.BitsStored) - 1
				for k := range im.Pixels {
					im.Pixels[k] = top - im.Pixels[k]
				}
			}
		}
		path := filepath.Join(root, "stage_2_train_images", p.id+".dcm")
		return writeFile(path, func(w io.Writer) error { return dicom.Write(w, im, dicom.WriteOptions{TransferSyntax: ts}) })
	})
	if err != nil {
		return err
	}
	labels := [][]string{{"patientId", "x", "y", "width", "height", "Target"}}
	classes := [][]string{{"patientId", "class"}}
	for i, p := range ps {
		cls := "Normal"
		switch {
		case p.f.Consolidation:
			cls = "Lung Opacity"
			rng := rngFor(c.Seed, streamRSNA+200, i)
			s := 1024.0 // boxes in the original 1024-pixel frame
			x, y := (0.31+0.38*float64(p.f.ConsZone%2)-0.1)*s, (0.33+0.26*float64(p.f.ConsZone/2)-0.1)*s
			w := (0.2 + 0.05*rng.Float64()) * s
			labels = append(labels, []string{p.id, f1(x), f1(y), f1(w), f1(w * 1.2), "1"})
		case !p.f.Normal():
			cls = "No Lung Opacity / Not Normal"
			labels = append(labels, []string{p.id, "", "", "", "", "0"})
		default:
			labels = append(labels, []string{p.id, "", "", "", "", "0"})
		}
		classes = append(classes, []string{p.id, cls})
		vocab.Add(cls)
	}
	if err := writeCSV(filepath.Join(root, "stage_2_train_labels.csv"), labels); err != nil {
		return err
	}
	return writeCSV(filepath.Join(root, "stage_2_detailed_class_info.csv"), classes)
}

func f1(v float64) string { return strconv.FormatFloat(math.Round(v), 'f', 1, 64) }

// writeCOVIDx writes train.txt and test.txt (patient_id filename label
// source) with normal, pneumonia (one consolidated zone) and COVID-19
// (bilateral peripheral opacities) images.
func writeCOVIDx(ctx context.Context, dir string, c Config, vocab *wordpiece.VocabBuilder) error {
	root := filepath.Join(dir, "COVIDx")
	n := halfStudies(c)
	type item struct {
		split, file, label string
		f                  Findings
	}
	items := make([]item, n)
	for i := range items {
		rng := rngFor(c.Seed, streamCOVIDx, i)
		f := Findings{Uncertain: map[string]bool{}, Cardiomegaly: rng.Float64() < 0.2, CardioSeverity: rng.Float64()}
		label := pick(rng, "normal", "normal", "pneumonia", "pneumonia", "COVID-19")
		switch label {
		case "pneumonia":
			f.Consolidation, f.ConsZone, f.ConsSize = true, rng.IntN(4), 0.3+0.7*rng.Float64()
		case "COVID-19":
			f.COVIDPattern = true
		}
		split := "train"
		if i%10 == 9 {
			split = "test"
		}
		ext := ".jpg"
		if i%7 == 3 {
			ext = ".png"
		}
		items[i] = item{split, fmt.Sprintf("synth-%06d%s", i, ext), label, f}
	}
	err := parallel(ctx, n, c, func(i int) error {
		it := items[i]
		img := RenderChest(rngFor(c.Seed, streamCOVIDx+100, i), c.Size, it.f)
		p := filepath.Join(root, it.split, it.file)
		if filepath.Ext(p) == ".png" {
			return writePNG(p, img)
		}
		return writeJPEG(p, img)
	})
	if err != nil {
		return err
	}
	lines := map[string][]string{}
	for i, it := range items {
		lines[it.split] = append(lines[it.split], fmt.Sprintf("%d %s %s synthetic", 1000+i/2, it.file, it.label))
		vocab.Add(it.label)
	}
	for split, ls := range lines {
		if err := writeLines(filepath.Join(root, split+".txt"), ls); err != nil {
			return err
		}
	}
	return nil
}

// MURABodyParts are MURA's study types.
var MURABodyParts = []string{"XR_ELBOW", "XR_FINGER", "XR_FOREARM", "XR_HAND", "XR_HUMERUS", "XR_SHOULDER", "XR_WRIST"}

// halfStudies is the size of RSNA and COVIDx.
func halfStudies(c Config) int { return max(c.Studies/2, 10) }

// muraStudies is MURA's number of studies.
func muraStudies(c Config) int { return max(c.Studies/4, 8) }

// muraStudy draws MURA study i: abnormal or not, its body part and its
// number of views (1-3).
func muraStudy(c Config, i int) (abnormal bool, part string, views int) {
	rng := rngFor(c.Seed, streamMURA, i)
	abnormal = rng.Float64() < 0.4
	part = MURABodyParts[rng.IntN(7)]
	return abnormal, part, 1 + rng.IntN(3)
}

// writeMURA writes MURA-v1.1 with 1-3 PNG views per study; abnormal studies
// show a fracture line or hardware.
func writeMURA(ctx context.Context, dir string, c Config, _ *wordpiece.VocabBuilder) error {
	root := filepath.Join(dir, "MURA-v1.1")
	n := muraStudies(c)
	type img struct {
		path     string
		abnormal bool
	}
	var imgs []img
	studies := map[string][]string{}
	paths := map[string][]string{}
	for i := range n {
		split := "train"
		if i%8 == 7 {
			split = "valid"
		}
		abnormal, part, views := muraStudy(c, i)
		lab, word := "0", "negative"
		if abnormal {
			lab, word = "1", "positive"
		}
		sdir := fmt.Sprintf("MURA-v1.1/%s/%s/patient%05d/study1_%s/", split, part, 11000+i, word)
		studies[split] = append(studies[split], sdir+","+lab)
		for v := range views {
			p := fmt.Sprintf("%simage%d.png", sdir, v+1)
			paths[split] = append(paths[split], p)
			imgs = append(imgs, img{p, abnormal})
		}
	}
	err := parallel(ctx, len(imgs), c, func(i int) error {
		return writePNG(filepath.Join(dir, filepath.FromSlash(imgs[i].path)),
			RenderBone(rngFor(c.Seed, streamMURA+100, i), c.Size, imgs[i].abnormal))
	})
	if err != nil {
		return err
	}
	for _, split := range []string{"train", "valid"} {
		if err := writeLines(filepath.Join(root, split+"_image_paths.csv"), paths[split]); err != nil {
			return err
		}
		if err := writeLines(filepath.Join(root, split+"_labeled_studies.csv"), studies[split]); err != nil {
			return err
		}
	}
	return nil
}

// RenderBone draws a long bone radiograph; abnormal ones carry a fracture
// (a dark oblique gap with displacement) or bright orthopaedic hardware.
func RenderBone(rng *rand.Rand, size int, abnormal bool) *image.Gray {
	angle := (rng.Float64() - 0.5) * 0.6
	width := 0.09 + 0.04*rng.Float64()
	cos, sin := math.Cos(angle), math.Sin(angle)
	kind, at := rng.IntN(2), 0.3+0.4*rng.Float64()
	gain := 0.8 + 0.4*rng.Float64()
	return paint(size, func(u, v float64) float64 {
		a := cos*(u-0.5) - sin*(v-0.5) // across the bone
		val := 0.08
		if math.Abs(a) < width*2.2 {
			val = 0.3 // soft tissue
		}
		if d := math.Abs(a) / width; d < 1 {
			val = 0.55 + 0.3*d*d // cortex brighter than the medulla
			if abnormal && kind == 0 && math.Abs(v-at-0.4*a) < 0.012 {
				val = 0.15
			}
		}
		if abnormal && kind == 1 && math.Abs(a) < width*0.3 && math.Abs(v-at) < 0.15 {
			val = 0.97
		}
		return gain*(val-0.4) + 0.4 + rng.NormFloat64()*0.02
	})
}
