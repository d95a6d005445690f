package layers

import (
	"reflect"
	"testing"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/ts"
)

// TestChannelsLast: the copy has torch.channels_last's strides and the same
// shape and values, and a convolution of it keeps that layout (what makes a
// network fed channels-last images compute in it).
func TestChannelsLast(t *testing.T) {
	x := ts.MustArange(ts.IntScalar(2*3*4*5), gotch.Float, gotch.CPU).MustView([]int64{2, 3, 4, 5}, true)
	defer x.MustDrop()
	y, err := ChannelsLast(x)
	if err != nil {
		t.Fatal(err)
	}
	defer y.MustDrop()
	if got, want := y.MustStride(), []int64{4 * 5 * 3, 1, 5 * 3, 3}; !reflect.DeepEqual(got, want) {
		t.Errorf("strides %v, want %v", got, want)
	}
	if !reflect.DeepEqual(y.MustSize(), x.MustSize()) || !y.MustEqual(x, false) {
		t.Error("channels-last copy differs from its input")
	}
	w := ts.MustOnes([]int64{6, 3, 3, 3}, gotch.Float, gotch.CPU)
	defer w.MustDrop()
	out := ts.MustConv2d(y, w, ts.None, []int64{1, 1}, []int64{1, 1}, []int64{1, 1}, 1)
	defer out.MustDrop()
	if got, want := out.MustStride(), []int64{4 * 5 * 6, 1, 5 * 6, 6}; !reflect.DeepEqual(got, want) {
		t.Errorf("convolution of a channels-last input has strides %v, want channels-last %v", got, want)
	}
}
