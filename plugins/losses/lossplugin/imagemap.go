package lossplugin

import (
	"fmt"

	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

// ImageMap is the image encoder's spatial map a local loss attends over:
// which output it is and how many channels it has. A local loss's config
// embeds it, so that every such loss names, documents and checks the map
// the same way.
type ImageMap struct {
	ImageOutput string `json:"image_output" enum:"conv4|spatial" doc:"the image encoder's map the loss attends over: conv4 (ResNet's third stage, as GLoRIA) or spatial (the last map before pooling, as Show, Attend and Tell)"`
	ImageDim    int64  `json:"image_dim" min:"1" doc:"channels of that map (ResNet-50's conv4: 1024, its spatial: 2048; smallcnn's spatial: 256)"`
}

// Take returns the map from in, checked to be [N, ImageDim, H, W]; the
// caller checks N against the rest of its batch.
func (m ImageMap) Take(in sdk.LocalInputs) (*tensor.Tensor, error) {
	img := in.Image[m.ImageOutput]
	if img == nil {
		return nil, fmt.Errorf("no image %s output given", m.ImageOutput)
	}
	if len(img.Shape) != 4 || img.Shape[1] != m.ImageDim {
		return nil, fmt.Errorf("image %s: shape %v, want [N %d H W] (config image_dim)", m.ImageOutput, img.Shape, m.ImageDim)
	}
	return img, nil
}
