// Command encoder is example-meanpool, a complete external image encoder
// plugin for convirt, meant to be copied as the template of a lab's own.
//
// It is pure Go (no libtorch), so it builds in seconds on any platform:
// every image is averaged over its channels and pooled to a grid x grid map
// of means, a ReLU layer turns the map into features (sdk.OutputFeatures,
// what linear probes and fine-tuning see) and a linear layer projects them
// into the joint embedding space (sdk.OutputProjection, what the ConVIRT
// loss sees). Both layers are trained by plain SGD on the gradients the host
// sends back, so the plugin takes part in pretraining like a built-in.
//
// Build, install and use it (docs/plugins.md walks through it):
//
//	go build -o example-meanpool ./plugins/examples/encoder
//	convirt plugins install ./example-meanpool
//	# recipe: image_encoder: {plugin: example-meanpool, config: {proj_dim: 512}}
package main

import (
	"fmt"
	"os"

	"github.com/convirt/convirt/plugins/sdk"
)

func main() {
	if err := serve(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// serve serves the encoder until the host stops it; the tests serve it the
// same way (TestMain). Nothing may be written to stdout before Serve: it
// carries the handshake with the host.
func serve() error {
	return sdk.Serve(sdk.ServeConfig{Encoder: &Encoder{}})
}
