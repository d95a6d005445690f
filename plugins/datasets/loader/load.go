package loader

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"runtime"
	"sync"

	"github.com/convirt/convirt/plugins/datasets/augment"
	"github.com/convirt/convirt/plugins/datasets/source"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

// Resize modes.
const (
	// CenterCrop resizes the shorter side to Size, then crops the centre
	// (aspect ratio kept). The default.
	CenterCrop = "center-crop"
	// Stretch resizes directly to Size x Size.
	Stretch = "stretch"
)

// Options say how to turn an image file into a model input.
type Options struct {
	Size     int    `json:"size"`     // output side in pixels
	Channels int    `json:"channels"` // 1, or 3 (gray replicated); 0 means 1
	Resize   string `json:"resize"`   // CenterCrop (default) or Stretch
	// Mean and Std normalise each channel: (x - mean) / std, with x in
	// [0,1]. Empty means 0.5 and 0.25; one value applies to all channels.
	Mean []float32 `json:"mean"`
	Std  []float32 `json:"std"`
	// Augment switches the random augmentation on (training); otherwise the
	// image is only resized.
	Augment bool           `json:"augment"`
	Aug     augment.Config `json:"aug"`
	// Seed and Epoch, with the example's ID, fix the augmentation draw.
	Seed  int64 `json:"seed"`
	Epoch int   `json:"epoch"`
	// Cache, when set, supplies prepared (pre-resized) copies of the
	// images; an image without a usable copy is read from its original.
	Cache ImageCache `json:"-"`
	// MaxPixels refuses, from the header, images of more pixels than this
	// (a bad sample naming the file); 0 means DefaultMaxPixels.
	MaxPixels int `json:"max_pixels"`
	// Roots, when set, confine images: one whose path, symlinks resolved,
	// lies inside none of these real directories (source.RealDirs) is
	// refused (a bad sample naming the file and where it leads). The
	// dataset option allow_outside_root leaves Roots empty.
	Roots []string `json:"-"`
}

// ImageCache maps an original image path to a prepared copy of it
// (plugins/datasets/prepare.Cache).
type ImageCache interface {
	// Lookup returns the copy's path, or "" when there is no valid copy.
	Lookup(imagePath string) string
}

func (o Options) channels() int { return max(1, o.Channels) }

func (o Options) norm(c int) (mean, std float32) {
	mean, std = 0.5, 0.25
	if len(o.Mean) > 0 {
		mean = o.Mean[min(c, len(o.Mean)-1)]
	}
	if len(o.Std) > 0 {
		std = o.Std[min(c, len(o.Std)-1)]
	}
	return mean, std
}

// Validate checks the options.
func (o Options) Validate() error {
	if o.Size <= 0 {
		return fmt.Errorf("loader: size %d must be positive", o.Size)
	}
	if o.Resize != "" && o.Resize != CenterCrop && o.Resize != Stretch {
		return fmt.Errorf("loader: resize %q: want %s or %s", o.Resize, CenterCrop, Stretch)
	}
	for c := range o.channels() {
		if _, s := o.norm(c); s == 0 {
			return fmt.Errorf("loader: std of channel %d is 0", c)
		}
	}
	if o.Augment {
		return o.Aug.Validate()
	}
	return nil
}

// RNG returns the generator for one sample's augmentation: a function of
// seed, epoch and the sample's ID only, so results do not depend on worker
// count or order.
func RNG(seed int64, epoch int, id string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(id))
	return rand.New(rand.NewPCG(uint64(seed)^0x9E3779B97F4A7C15*uint64(epoch+1), h.Sum64()))
}

// Load decodes ex.ImagePath, or its prepared copy when o.Cache has a
// readable one, and returns a C x Size x Size float32 array. With o.Roots,
// the image must resolve inside them (checked before the cache is asked).
func Load(ex source.Example, o Options) ([]float32, error) {
	path := ex.ImagePath
	if len(o.Roots) > 0 {
		real, err := source.Confine(path, o.Roots)
		if err != nil {
			if errors.Is(err, source.ErrOutsideRoot) {
				err = fmt.Errorf("%w; set the dataset option allow_outside_root: true to read it", err)
			}
			return nil, err
		}
		path = real
	}
	if o.Cache != nil {
		if p := o.Cache.Lookup(ex.ImagePath); p != "" {
			if g, err := DecodeFileLimit(p, o.MaxPixels); err == nil && g.W > 0 && g.H > 0 {
				return Transform(g, ex.ID, o), nil
			}
			// Missing or damaged copy: fall back to the original.
		}
	}
	g, err := DecodeFileLimit(path, o.MaxPixels)
	if err != nil {
		if path != ex.ImagePath { // name the file as the index does
			err = fmt.Errorf("%s (%w)", ex.ImagePath, err)
		}
		return nil, err
	}
	if g.W == 0 || g.H == 0 {
		return nil, fmt.Errorf("%s: zero-size image", ex.ImagePath)
	}
	return Transform(g, ex.ID, o), nil
}

// Transform resizes (and, with o.Augment, augments) a decoded image and
// normalises it into a C x Size x Size array.
func Transform(g augment.Gray, id string, o Options) []float32 {
	switch {
	case o.Augment:
		g = augment.Apply(g, o.Size, o.Aug, RNG(o.Seed, o.Epoch, id))
	case o.Resize == Stretch:
		g = augment.Resize(g, o.Size, o.Size)
	default:
		g = augment.CenterCrop(augment.ShorterSide(g, o.Size), o.Size, o.Size)
	}
	n := o.Size * o.Size
	out := make([]float32, o.channels()*n)
	for c := range o.channels() {
		mean, std := o.norm(c)
		dst := out[c*n : (c+1)*n]
		for i, v := range g.Pix {
			dst[i] = (v - mean) / std
		}
	}
	return out
}

// Batch is a stacked set of loaded examples.
type Batch struct {
	// Images is N x C x Size x Size float32, N = len(Examples); nil when
	// every example is text only.
	Images *tensor.Tensor
	// Examples are the samples that loaded, in request order.
	Examples []source.Example
	// Indices are their indices in the source.
	Indices []int
	// Bad are the samples skipped, with the reason, and BadIndices their
	// indices in the source (Bad[i] is about BadIndices[i]).
	Bad        []source.Problem
	BadIndices []int
}

// LoadBatch loads src's examples at idx with up to workers goroutines
// (0: GOMAXPROCS). Bad samples are skipped and listed in Batch.Bad; the
// error is reserved for invalid options and cancellation.
func LoadBatch(ctx context.Context, src source.Source, idx []int, o Options, workers int) (*Batch, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	type result struct {
		ex  source.Example
		pix []float32
		err error
	}
	res := make([]result, len(idx))
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, max(1, len(idx))) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				ex, err := src.Example(idx[j])
				if err == nil && !textOnly(ex) {
					res[j].pix, err = Load(ex, o)
				}
				res[j].ex, res[j].err = ex, err
			}
		}()
	}
	var cerr error
feed:
	for j := range idx {
		if cerr = ctx.Err(); cerr != nil {
			break
		}
		select {
		case jobs <- j:
		case <-ctx.Done():
			cerr = ctx.Err()
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if cerr != nil {
		return nil, cerr
	}
	b := &Batch{}
	per := o.channels() * o.Size * o.Size
	flat := make([]float32, 0, len(idx)*per)
	withImages := false
	for _, r := range res {
		withImages = withImages || (r.err == nil && !textOnly(r.ex))
	}
	for j, r := range res {
		if r.err == nil && withImages && textOnly(r.ex) {
			r.err = fmt.Errorf("no image, in a batch of images")
		}
		if r.err != nil {
			b.Bad = append(b.Bad, source.Problem{Path: r.ex.ImagePath, Msg: fmt.Sprintf("example %d: %v", idx[j], r.err)})
			b.BadIndices = append(b.BadIndices, idx[j])
			continue
		}
		flat = append(flat, r.pix...)
		b.Examples = append(b.Examples, r.ex)
		b.Indices = append(b.Indices, idx[j])
	}
	if !withImages {
		return b, nil // text queries: no images at all
	}
	t, err := tensor.FromFloat32([]int64{int64(len(b.Examples)), int64(o.channels()), int64(o.Size), int64(o.Size)}, flat)
	if err != nil {
		return nil, err
	}
	b.Images = t
	return b, nil
}

// textOnly reports whether ex is a text sample without an image (a text
// retrieval query).
func textOnly(ex source.Example) bool { return ex.ImagePath == "" && len(ex.Texts) > 0 }
