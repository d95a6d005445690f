package main

// The built-in plugins, compiled into convirt and each served in its own
// process as `convirt plugin serve NAME`.
import (
	_ "github.com/convirt/convirt/plugins/datasets/datasetplugin"
	_ "github.com/convirt/convirt/plugins/encoders/image"
	_ "github.com/convirt/convirt/plugins/encoders/text"
	_ "github.com/convirt/convirt/plugins/losses/caption"
	_ "github.com/convirt/convirt/plugins/losses/clip"
	_ "github.com/convirt/convirt/plugins/losses/contrastivebinary"
	_ "github.com/convirt/convirt/plugins/losses/convirt"
	_ "github.com/convirt/convirt/plugins/losses/gloria"
)
