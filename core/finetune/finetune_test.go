package finetune

import (
	"reflect"
	"testing"

	"github.com/convirt/convirt/core/features"
)

func TestBatchesOf(t *testing.T) {
	for _, c := range []struct {
		n, size int
		want    []int
	}{{9, 4, []int{4, 5}}, {8, 4, []int{4, 4}}, {10, 4, []int{4, 4, 2}}, {1, 4, []int{1}}, {3, 8, []int{3}}} {
		var got []int
		total := 0
		for _, b := range BatchesOf(features.Span(0, c.n), c.size) {
			got = append(got, len(b))
			total += len(b)
		}
		if !reflect.DeepEqual(got, c.want) || total != c.n {
			t.Errorf("%d rows in batches of %d: sizes %v, want %v", c.n, c.size, got, c.want)
		}
	}
}

func TestPlateauPatience(t *testing.T) {
	for _, c := range []struct {
		p, stop, want int
		fires         bool
	}{{5, 5, 3, true}, {2, 5, 2, true}, {3, 5, 3, true}, {5, 2, 0, true}, {0, 10, 0, true}, {5, 1, 5, false}} {
		got, fires := PlateauPatience(c.p, c.stop)
		if got != c.want || fires != c.fires {
			t.Errorf("PlateauPatience(%d, %d) = %d, %v; want %d, %v", c.p, c.stop, got, fires, c.want, c.fires)
		}
		if fires && got+1 >= c.stop {
			t.Errorf("PlateauPatience(%d, %d) = %d: the cut after %d bad epochs leaves no epoch before the stop after %d", c.p, c.stop, got, got+1, c.stop)
		}
	}
}
