// Package synth writes a synthetic chest X-ray corpus in the on-disk layouts
// of the real datasets (MIMIC-CXR-JPG with reports, CheXpert, RSNA Pneumonia
// with DICOM, COVIDx, MURA, and the CheXpert 8x200 retrieval sets), so that
// the dataset readers and the whole pipeline run end to end without real
// data. Every image is drawn from a set of findings that its report
// describes in varied sentences, so the findings are learnable from text.
// A WordPiece vocab.txt of all the texts lets a text encoder be trained from
// scratch on them. Output is a function of the seed only.
package synth

import "math/rand/v2"

// Side is the patient's side of a finding. Radiographs are viewed as if
// facing the patient: the patient's right is on the image's left.
type Side int

// Sides.
const (
	Right Side = iota
	Left
)

func (s Side) String() string {
	if s == Left {
		return "left"
	}
	return "right"
}

// Zones for consolidation, in the patient's frame.
var zoneNames = [4]string{"right upper", "left upper", "right lower", "left lower"}

// Findings are the abnormalities drawn into one image and described by its
// report. Severity values lie in [0,1]; Uncertain marks findings the report
// hedges ("possible ..."), labelled -1 (uncertain) in the CheXpert files.
type Findings struct {
	Cardiomegaly   bool
	CardioSeverity float64

	Effusion      bool
	EffusionSide  Side
	EffusionSize  float64
	Consolidation bool
	ConsZone      int // index into zoneNames
	ConsSize      float64
	Pneumothorax  bool
	PTXSide       Side
	PTXSize       float64
	Nodule        bool
	NoduleSide    Side
	NoduleX       float64 // position within the lung, [0,1]
	NoduleY       float64
	NoduleSize    float64
	COVIDPattern  bool // bilateral peripheral opacities (COVIDx only)
	Uncertain     map[string]bool
}

// Names of the five findings, as CheXpert columns.
const (
	Cardiomegaly  = "Cardiomegaly"
	Effusion      = "Pleural Effusion"
	Consolidation = "Consolidation"
	Pneumothorax  = "Pneumothorax"
	LungLesion    = "Lung Lesion"
)

// FindingNames lists the five findings as CheXpert columns.
var FindingNames = []string{Cardiomegaly, Effusion, Consolidation, Pneumothorax, LungLesion}

// Prevalence of each finding.
var Prevalence = map[string]float64{Cardiomegaly: 0.30, Effusion: 0.30, Consolidation: 0.25,
	Pneumothorax: 0.20, LungLesion: 0.25}

// Sample draws independent findings with their prevalences; a mild finding
// is hedged in the report with probability uncertainP.
func Sample(rng *rand.Rand, uncertainP float64) Findings {
	f := Findings{Uncertain: map[string]bool{}}
	side := func() Side { return Side(rng.IntN(2)) }
	sev := func() float64 { return 0.15 + 0.85*rng.Float64() }
	if rng.Float64() < Prevalence[Cardiomegaly] {
		f.Cardiomegaly, f.CardioSeverity = true, sev()
	}
	if rng.Float64() < Prevalence[Effusion] {
		f.Effusion, f.EffusionSide, f.EffusionSize = true, side(), sev()
	}
	if rng.Float64() < Prevalence[Consolidation] {
		f.Consolidation, f.ConsZone, f.ConsSize = true, rng.IntN(4), sev()
	}
	if rng.Float64() < Prevalence[Pneumothorax] {
		f.Pneumothorax, f.PTXSide, f.PTXSize = true, side(), sev()
	}
	if rng.Float64() < Prevalence[LungLesion] {
		f.Nodule, f.NoduleSide, f.NoduleSize = true, side(), sev()
		f.NoduleX, f.NoduleY = 0.25+0.5*rng.Float64(), 0.2+0.55*rng.Float64()
	}
	for _, n := range FindingNames {
		if has, severity := f.finding(n); has && severity < 0.45 && rng.Float64() < uncertainP {
			f.Uncertain[n] = true
		}
	}
	return f
}

// Has reports whether the named finding is present.
func (f Findings) Has(name string) bool {
	present, _ := f.finding(name)
	return present
}

// finding reports whether the named finding is present, and its severity
// or size in [0, 1].
func (f Findings) finding(name string) (present bool, severity float64) {
	switch name {
	case Cardiomegaly:
		return f.Cardiomegaly, f.CardioSeverity
	case Effusion:
		return f.Effusion, f.EffusionSize
	case Consolidation:
		return f.Consolidation || f.COVIDPattern, f.ConsSize
	case Pneumothorax:
		return f.Pneumothorax, f.PTXSize
	case LungLesion:
		return f.Nodule, f.NoduleSize
	}
	return false, 0
}

// Normal reports whether no finding is present.
func (f Findings) Normal() bool {
	for _, n := range FindingNames {
		if f.Has(n) {
			return false
		}
	}
	return true
}

// CheXpertColumns are the 14 observation columns in CheXpert's train.csv
// order.
var CheXpertColumns = []string{"No Finding", "Enlarged Cardiomediastinum", "Cardiomegaly",
	"Lung Opacity", "Lung Lesion", "Edema", "Consolidation", "Pneumonia", "Atelectasis",
	"Pneumothorax", "Pleural Effusion", "Pleural Other", "Fracture", "Support Devices"}

// Labels returns CheXpert-style values for each of CheXpertColumns: "1.0",
// "0.0", "-1.0" or "" (not mentioned). mentioned says which absent findings
// the report negates (labelled 0.0).
func (f Findings) Labels(mentioned map[string]bool) map[string]string {
	out := map[string]string{}
	for _, n := range FindingNames {
		switch {
		case f.Has(n) && f.Uncertain[n]:
			out[n] = "-1.0"
		case f.Has(n):
			out[n] = "1.0"
		case mentioned[n]:
			out[n] = "0.0"
		}
	}
	if mentioned["Edema"] {
		out["Edema"] = "0.0"
	}
	if f.Consolidation || f.COVIDPattern {
		out["Lung Opacity"] = "1.0"
		out["Pneumonia"] = "-1.0"
	}
	if f.Cardiomegaly && !f.Uncertain[Cardiomegaly] {
		out["Enlarged Cardiomediastinum"] = "1.0"
	}
	if f.Normal() {
		out["No Finding"] = "1.0"
	}
	return out
}
