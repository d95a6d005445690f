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
