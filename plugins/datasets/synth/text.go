package synth

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

func pick(rng *rand.Rand, s ...string) string { return s[rng.IntN(len(s))] }

func degree(rng *rand.Rand, sev float64) string {
	switch {
	case sev < 0.4:
		return pick(rng, "small", "mild", "trace", "minimal")
	case sev < 0.7:
		return pick(rng, "moderate", "moderate-sized", "mild to moderate")
	}
	return pick(rng, "large", "severe", "marked", "extensive")
}

func capital(s string) string { return strings.ToUpper(s[:1]) + s[1:] }

// describe returns sentences (findings, impression) for a present finding.
func describe(rng *rand.Rand, f Findings, name string) (finding, impression string) {
	hedge := f.Uncertain[name]
	maybe := func(s string) string {
		if hedge {
			return capital(pick(rng, "possible ", "questionable ", "cannot exclude ") + s)
		}
		return capital(s)
	}
	switch name {
	case Cardiomegaly:
		d := pick(rng, "mildly", "moderately", "markedly")
		if hedge {
			return pick(rng, "The heart size is borderline enlarged.", "Possible mild cardiomegaly."), "Borderline heart size."
		}
		return pick(rng, "The heart is "+d+" enlarged.", "The cardiac silhouette is enlarged.",
				"Cardiomegaly is present.", "There is "+d+" cardiomegaly.", "Enlarged cardiac silhouette."),
			pick(rng, "Cardiomegaly.", "Enlarged heart.", "Cardiac enlargement.")
	case Effusion:
		s, d := f.EffusionSide.String(), degree(rng, f.EffusionSize)
		return maybe(pick(rng, d+" "+s+" pleural effusion.", s+" pleural effusion is "+pick(rng, "present.", "seen.", "noted."),
				"blunting of the "+s+" costophrenic angle consistent with "+d+" effusion.", s+" basilar pleural fluid.")),
			maybe(s + " pleural effusion.")
	case Consolidation:
		if f.COVIDPattern {
			return "Bilateral peripheral patchy opacities are present.", "Multifocal bilateral opacities, concerning for atypical infection."
		}
		z := zoneNames[f.ConsZone]
		lobe := z + " lobe"
		if f.ConsZone == 0 && rng.IntN(2) == 0 {
			lobe = "right upper lobe"
		}
		return maybe(pick(rng, "focal consolidation in the "+lobe+".", "there is "+z+" zone airspace consolidation.",
				z+" lobe opacity consistent with consolidation.", "airspace opacity in the "+lobe+".")),
			maybe(pick(rng, z+" lobe consolidation, concerning for pneumonia.", z+" lobe pneumonia.", z+" airspace disease."))
	case Pneumothorax:
		s, d := f.PTXSide.String(), degree(rng, f.PTXSize)
		return maybe(pick(rng, d+" "+s+" pneumothorax.", "there is a "+d+" "+s+" apical pneumothorax.",
				s+" pleural line with absent lung markings laterally, consistent with pneumothorax.", s+" pneumothorax is present.")),
			maybe(s + " pneumothorax.")
	case LungLesion:
		s := f.NoduleSide.String()
		cm := fmt.Sprintf("%.1f cm", 0.6+1.6*f.NoduleSize)
		return maybe(pick(rng, "a "+cm+" nodule in the "+s+" lung.", "there is a "+s+" pulmonary nodule measuring "+cm+".",
				"rounded "+s+" lung nodular opacity.", s+" lung mass-like opacity.")),
			maybe(pick(rng, s+" pulmonary nodule.", s+" lung nodule, recommend CT follow-up.", s+" lung lesion."))
	}
	return "", ""
}

// negations are the ways a report states a finding's absence.
var negations = map[string][]string{
	Cardiomegaly:  {"Heart size is normal.", "The cardiac silhouette is within normal limits.", "No cardiomegaly.", "Normal heart size."},
	Effusion:      {"No pleural effusion.", "There is no pleural effusion.", "No effusion.", "The costophrenic angles are sharp."},
	Consolidation: {"No focal consolidation.", "There is no consolidation.", "The lungs are clear without focal opacity."},
	Pneumothorax:  {"No pneumothorax.", "There is no pneumothorax.", "No evidence of pneumothorax."},
	LungLesion:    {"No pulmonary nodules.", "No suspicious nodule or mass."},
}

var neutral = []string{
	"The mediastinal contours are unremarkable.", "The hilar contours are normal.",
	"No acute osseous abnormality.", "Visualized osseous structures are intact.",
	"Degenerative changes of the thoracic spine.", "The trachea is midline.",
	"Lung volumes are normal.", "Low lung volumes.", "No pulmonary edema.", "There is no pulmonary vascular congestion.",
	"Surgical clips in the upper abdomen.", "The aorta is tortuous.",
}

// Text is a generated report: its Findings and Impression sentences, and
// which absent findings it negates (for labels).
type Text struct {
	Findings   []string
	Impression []string
	Negated    map[string]bool
}

// Describe writes the report sentences for f.
func Describe(rng *rand.Rand, f Findings) Text {
	t := Text{Negated: map[string]bool{}}
	order := rng.Perm(len(FindingNames))
	for _, i := range order {
		n := FindingNames[i]
		if f.Has(n) {
			fs, im := describe(rng, f, n)
			t.Findings = append(t.Findings, fs)
			t.Impression = append(t.Impression, im)
		} else if rng.Float64() < 0.6 {
			t.Findings = append(t.Findings, pick(rng, negations[n]...))
			t.Negated[n] = true
		}
	}
	for range 1 + rng.IntN(3) {
		s := pick(rng, neutral...)
		if s == "No pulmonary edema." {
			t.Negated["Edema"] = true
		}
		t.Findings = append(t.Findings, s)
	}
	rng.Shuffle(len(t.Findings), func(i, j int) { t.Findings[i], t.Findings[j] = t.Findings[j], t.Findings[i] })
	if len(t.Impression) == 0 {
		t.Impression = []string{pick(rng, "No acute cardiopulmonary process.", "No acute intrathoracic abnormality.",
			"Normal chest radiograph.", "No evidence of acute disease.")}
	}
	return t
}

// MIMICReport formats a report as a MIMIC-CXR text file. style varies the
// section layout: 0 the usual FINDINGS + IMPRESSION, 1 IMPRESSION only,
// 2 CONCLUSION instead of IMPRESSION, 3 no Findings/Impression headers (the
// text is the last paragraph).
func MIMICReport(rng *rand.Rand, t Text, view string, style int) string {
	var b strings.Builder
	b.WriteString("                                 FINAL REPORT\n")
	fmt.Fprintf(&b, " EXAMINATION:  CHEST (%s)\n \n", pick(rng, view, view+" AND LAT", "PORTABLE "+view))
	fmt.Fprintf(&b, " INDICATION:  ___%s with %s.\n \n", pick(rng, "F", "M"),
		pick(rng, "shortness of breath", "cough and fever", "chest pain", "evaluate for pneumonia", "hypoxia"))
	b.WriteString(" COMPARISON:  " + pick(rng, "___.", "None.", "Chest radiograph ___.") + "\n \n")
	wrap := func(ss []string) string { return " " + strings.Join(ss, "  ") + "\n" }
	switch style {
	case 1:
		b.WriteString(" IMPRESSION: \n \n" + wrap(append(t.Findings, t.Impression...)))
	case 2:
		b.WriteString(" FINDINGS: \n \n" + wrap(t.Findings) + " \n CONCLUSION: \n \n" + wrap(t.Impression))
	case 3:
		b.WriteString(" \n" + wrap(append(t.Findings, t.Impression...)))
	default:
		b.WriteString(" FINDINGS: \n \n" + wrap(t.Findings) + " \n IMPRESSION: \n \n" + wrap(t.Impression))
	}
	return b.String()
}
