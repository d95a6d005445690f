package catalog

import (
	"context"
	"fmt"
	"math"

	"github.com/convirt/convirt/plugins/datasets/loader"
	"github.com/convirt/convirt/plugins/datasets/source"
)

// Inspection is what `convirt data inspect` reports for one split of a
// dataset: its size, the positive and ignored (unknown) count of each label,
// the image sizes when images are decoded, and every problem found.
type Inspection struct {
	Dataset   string           `json:"dataset"`
	Split     string           `json:"split"`
	Task      source.Task      `json:"task"`
	Examples  int              `json:"examples"`
	Positives map[string]int   `json:"positives"`
	Ignored   map[string]int   `json:"ignored"`
	Sizes     map[string]int   `json:"image_sizes,omitempty"`
	Problems  []source.Problem `json:"problems"`
}

// Inspect reads split of the dataset name under root, or every split the
// catalogue lists for it when split is "", and counts its labels; with
// images it also decodes every image. When several splits are inspected, one
// that cannot be opened is reported as a problem of its own inspection;
// a single split that cannot be opened is an error.
func Inspect(ctx context.Context, name, root, split string, images bool) ([]Inspection, error) {
	splits := []string{split}
	if split == "" {
		if d, err := Lookup(name); err == nil && d.Splits != nil {
			splits = d.Splits // an unknown name fails in Open
		}
	}
	var all []Inspection
	for _, sp := range splits {
		src, err := Open(name, root, sp)
		if err != nil {
			if len(splits) > 1 {
				all = append(all, Inspection{Dataset: name, Split: sp, Problems: []source.Problem{{Path: root, Msg: err.Error()}}})
				continue
			}
			return nil, err
		}
		in, err := inspect(ctx, name, sp, src, images)
		if err != nil {
			return nil, err
		}
		all = append(all, in)
	}
	return all, nil
}

func inspect(ctx context.Context, name, split string, src source.Source, images bool) (Inspection, error) {
	in := Inspection{Dataset: name, Split: split, Task: src.Task(), Examples: src.Len(),
		Positives: map[string]int{}, Ignored: map[string]int{}, Sizes: map[string]int{},
		Problems: append([]source.Problem(nil), src.Problems()...)}
	for i := range src.Len() {
		if err := ctx.Err(); err != nil {
			return in, err
		}
		ex, err := src.Example(i)
		if err != nil {
			in.Problems = append(in.Problems, source.Problem{Path: ex.ImagePath, Msg: err.Error()})
			continue
		}
		for j, v := range ex.Labels {
			switch {
			case math.IsNaN(float64(v)):
				in.Ignored[src.LabelNames()[j]]++
			case v == 1:
				in.Positives[src.LabelNames()[j]]++
			}
		}
		if images && ex.ImagePath != "" {
			g, err := loader.DecodeFile(ex.ImagePath)
			if err != nil {
				in.Problems = append(in.Problems, source.Problem{Path: ex.ImagePath, Msg: err.Error()})
				continue
			}
			in.Sizes[fmt.Sprintf("%dx%d", g.W, g.H)]++
		}
	}
	return in, nil
}
