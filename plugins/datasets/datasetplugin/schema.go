package datasetplugin

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

// Config is a dataset plugin's common configuration, its tags the schema of
// the common keys (CommonSchema); the reader's options are kept apart and
// handed to catalog.OpenOptions.
type Config struct {
	Root      string `json:"root" required:"true" doc:"dataset directory, laid out as downloaded (docs/datasets.md)"`
	ImageSize int    `json:"image_size" min:"8" max:"4096" doc:"output image side in pixels"`
	Channels  int    `json:"channels" min:"1" max:"3" doc:"1 (grayscale) or 3 (gray replicated, for ImageNet weights)"`
	Resize    string `json:"resize" enum:"center-crop|stretch" doc:"how images are fitted to the square"`
	// Mean and Std normalise each channel, (x - mean) / std for gray values
	// x in [0,1]: one value per channel, both or neither (checkNorm); nil:
	// the loader's default, 0.5 and 0.25.
	Mean    []float64      `json:"mean" doc:"per-channel mean of the normalisation (x - mean) / std, x the gray value in [0,1]: one value per channel, set with std; unset: (x - 0.5) / 0.25. ImageNet-initialised encoders (recipes/paper, channels: 3) use ImageNet's [0.485, 0.456, 0.406]"`
	Std     []float64      `json:"std" doc:"per-channel standard deviation of the normalisation, each > 0: one value per channel, set with mean; unset: 0.25. ImageNet's is [0.229, 0.224, 0.225]"`
	Augment augment.Config `json:"augment" doc:"the paper's augmentations, applied in this order when the host asks for augmented batches"`
	Text    string         `json:"text_sampling" enum:"sentence|report" doc:"text of a pair: sentence: one sentence of Findings + Impression (the paper), drawn anew each epoch in augmented (training) batches and fixed per sample in plain ones (validation, features); report: the whole Findings + Impression"`
	Workers int            `json:"workers" min:"0" doc:"image decoding goroutines; 0 uses every core"`
	// Prepared is PreparedAuto, PreparedOff or PreparedRequired.
	Prepared string "json:\"prepared\" enum:\"auto|off|required\" doc:\"read pre-resized copies written by `convirt data prepare` (a complete cache of size >= image_size): auto uses one when present, off never, required fails without one\""
	// PrepDir "" is ROOT/.convirt-prepared.
	PrepDir string  "json:\"prepared_dir\" doc:\"folder holding the prepared caches (one subfolder per size), as `convirt data prepare --out` wrote it; empty: ROOT/.convirt-prepared\""
	MaxBad  float64 `json:"max_bad_fraction" min:"0" max:"1" doc:"largest share of a split's samples that may be bad (rows rejected when the index is read, plus distinct samples that failed to load), counted over the whole split whatever the batches; past it (judged once the split has 50 rows or 50 samples were served) batches fail naming the first problems; a batch whose samples all fail comes back empty"`
	// MaxPixels is the pixel limit of an image (0: loader.DefaultMaxPixels).
	MaxPixels int `json:"max_pixels" min:"1" doc:"largest image, in pixels (width x height), decoded in any format; checked from the header before decoding, a larger image is a bad sample naming the file; decoding takes 5 to 12 bytes per pixel per worker"`
	// AllowOutside lets images resolve (through symlinks) outside the root.
	AllowOutside bool `json:"allow_outside_root" doc:"follow symlinks that lead images out of root (and parent_root); off: such an image is a bad sample naming where it leads. Index paths that are absolute or climb out with .. are refused either way"`
}

// DefaultConfig is the common configuration before the recipe's keys
// apply (Root is required and has none).
func DefaultConfig() Config {
	return Config{ImageSize: 224, Channels: 1, Resize: "center-crop", Augment: augment.Default(), Text: "sentence",
		Workers: 0, Prepared: PreparedAuto, PrepDir: "", MaxBad: DefaultMaxBadFraction, MaxPixels: loader.DefaultMaxPixels}
}

// commonSchema is the schema of the keys every dataset plugin accepts,
// besides its reader's own (catalog.Dataset.Fields): derived from Config's
// tags with DefaultConfig's values.
var commonSchema = schema.MustDerive(DefaultConfig())

// CommonFields are the config keys every dataset plugin accepts, besides
// its reader's own (catalog.Dataset.Fields).
func CommonFields() []schema.Field {
	return append([]schema.Field(nil), commonSchema.Fields...)
}

// fields are a dataset plugin's config keys: the common ones and its
// reader's own.
func fields(reader []schema.Field) []schema.Field {
	return append(CommonFields(), reader...)
}

// isCommon reports whether key is one of CommonFields.
func isCommon(key string) bool {
	_, ok := commonSchema.Field(key)
	return ok
}
