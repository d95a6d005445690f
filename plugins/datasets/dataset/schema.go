package dataset

import (
	"github.com/convirt/convirt/plugins/datasets/augment"
	"github.com/convirt/convirt/plugins/datasets/loader"
	"github.com/convirt/convirt/plugins/sdk/schema"
)

// DefaultMaxBadFraction is the default of the max_bad_fraction key.
const DefaultMaxBadFraction = 0.05

// Values of the prepared key.
const (
	PreparedAuto     = "auto"     // use a complete prepared cache when there is one
	PreparedOff      = "off"      // always read the original images
	PreparedRequired = "required" // fail to configure without a prepared cache
)

// CommonFields are the config keys every dataset plugin accepts, besides
// its reader's own (catalog.Dataset.Fields).
func CommonFields() []schema.Field {
	return []schema.Field{
		{Name: "root", Type: schema.String, Required: true, Doc: "dataset directory, laid out as downloaded (docs/datasets.md)"},
		{Name: "image_size", Type: schema.Int, Default: 224, Min: schema.Ptr(8), Max: schema.Ptr(4096), Doc: "output image side in pixels"},
		{Name: "channels", Type: schema.Int, Default: 1, Min: schema.Ptr(1), Max: schema.Ptr(3), Doc: "1 (grayscale) or 3 (gray replicated, for ImageNet weights)"},
		{Name: "resize", Type: schema.String, Default: "center-crop", Enum: []string{"center-crop", "stretch"}, Doc: "how images are fitted to the square"},
		{Name: "mean", Type: schema.List, Elem: schema.Float,
			Doc: "per-channel mean of the normalisation (x - mean) / std, x the gray value in [0,1]: one value per channel, set with std; unset: (x - 0.5) / 0.25. ImageNet-initialised encoders (recipes/paper, channels: 3) use ImageNet's [0.485, 0.456, 0.406]"},
		{Name: "std", Type: schema.List, Elem: schema.Float,
			Doc: "per-channel standard deviation of the normalisation, each > 0: one value per channel, set with mean; unset: 0.25. ImageNet's is [0.229, 0.224, 0.225]"},
		{Name: "augment", Type: schema.Object, Fields: augmentFields(), Doc: "the paper's augmentations, applied in this order when the host asks for augmented batches"},
		{Name: "text_sampling", Type: schema.String, Default: "sentence", Enum: []string{"sentence", "report"}, Doc: "text of a pair: sentence: one sentence of Findings + Impression (the paper), drawn anew each epoch in augmented (training) batches and fixed per sample in plain ones (validation, features); report: the whole Findings + Impression"},
		{Name: "workers", Type: schema.Int, Default: 0, Min: schema.Ptr(0), Doc: "image decoding goroutines; 0 uses every core"},
		{Name: "prepared", Type: schema.String, Default: PreparedAuto, Enum: []string{PreparedAuto, PreparedOff, PreparedRequired},
			Doc: "read pre-resized copies written by `convirt data prepare` (a complete cache of size >= image_size): auto uses one when present, off never, required fails without one"},
		{Name: "prepared_dir", Type: schema.String, Default: "",
			Doc: "folder holding the prepared caches (one subfolder per size), as `convirt data prepare --out` wrote it; empty: ROOT/.convirt-prepared"},
		{Name: "max_bad_fraction", Type: schema.Float, Default: DefaultMaxBadFraction, Min: schema.Ptr(0), Max: schema.Ptr(1),
			Doc: "largest share of a split's samples that may be bad (rows rejected when the index is read, plus distinct samples that failed to load), counted over the whole split whatever the batches; past it (judged once the split has 50 rows or 50 samples were served) batches fail naming the first problems; a batch whose samples all fail comes back empty"},
		{Name: "max_pixels", Type: schema.Int, Default: loader.DefaultMaxPixels, Min: schema.Ptr(1),
			Doc: "largest image, in pixels (width x height), decoded in any format; checked from the header before decoding, a larger image is a bad sample naming the file; decoding takes 5 to 12 bytes per pixel per worker"},
		{Name: "allow_outside_root", Type: schema.Bool, Default: false,
			Doc: "follow symlinks that lead images out of root (and parent_root); off: such an image is a bad sample naming where it leads. Index paths that are absolute or climb out with .. are refused either way"},
	}
}

// augmentFields describes augment.Config, with augment.Default's values.
func augmentFields() []schema.Field {
	d := augment.Default()
	pair := func(r [2]float64) []float64 { return []float64{r[0], r[1]} }
	zero, one := schema.Ptr(0), schema.Ptr(1)
	return []schema.Field{
		{Name: "crop_scale", Type: schema.List, Elem: schema.Float, Default: pair(d.CropScale), Min: zero, Max: one,
			Doc: "area fraction range [lo, hi] of the random resized crop"},
		{Name: "crop_ratio", Type: schema.List, Elem: schema.Float, Default: pair(d.CropRatio), Min: zero,
			Doc: "aspect-ratio range [lo, hi] of the crop (log-uniform)"},
		{Name: "flip", Type: schema.Bool, Default: d.Flip, Doc: "horizontal flip (off by default: reports name sides)"},
		{Name: "flip_p", Type: schema.Float, Default: d.FlipP, Min: zero, Max: one, Doc: "probability of the flip"},
		{Name: "rotation", Type: schema.Float, Default: d.Rotation, Min: zero, Doc: "maximum absolute rotation in degrees"},
		{Name: "translate", Type: schema.Float, Default: d.Translate, Min: zero, Max: one, Doc: "maximum shift as a fraction of the image side"},
		{Name: "scale", Type: schema.List, Elem: schema.Float, Default: pair(d.Scale), Min: zero, Doc: "affine zoom range [lo, hi]"},
		{Name: "brightness", Type: schema.List, Elem: schema.Float, Default: pair(d.Brightness), Min: zero, Doc: "brightness factor range [lo, hi] (1 = unchanged)"},
		{Name: "contrast", Type: schema.List, Elem: schema.Float, Default: pair(d.Contrast), Min: zero, Doc: "contrast factor range [lo, hi] (1 = unchanged)"},
		{Name: "blur_sigma", Type: schema.List, Elem: schema.Float, Default: pair(d.BlurSigma), Min: zero, Doc: "Gaussian blur sigma range [lo, hi] in output pixels"},
		{Name: "blur_p", Type: schema.Float, Default: d.BlurP, Min: zero, Max: one, Doc: "probability of the blur"},
		{Name: "blur_kernel", Type: schema.Int, Default: d.BlurKernel, Min: zero,
			Doc: "odd blur kernel size; 0: the odd size nearest 10% of the output side, at least 3"},
	}
}

// fields are a dataset plugin's config keys: the common ones and its
// reader's own.
func fields(reader []schema.Field) []schema.Field {
	return append(CommonFields(), reader...)
}

// isCommon reports whether key is one of CommonFields.
func isCommon(key string) bool {
	_, ok := schema.Schema{Fields: CommonFields()}.Field(key)
	return ok
}
