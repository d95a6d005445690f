package datasetplugin

import (
	"errors"
	"fmt"

	"github.com/convirt/convirt/plugins/datasets/loader"
	"github.com/convirt/convirt/plugins/datasets/prepare"
)

// openCache finds the prepared cache the prepared key asks for: nil when
// off, or when auto finds none; an error when required finds none.
func (p *Plugin) openCache(cfg Config) (loader.ImageCache, error) {
	if cfg.Prepared == PreparedOff {
		return nil, nil
	}
	c, err := prepare.Open(cfg.PrepDir, cfg.Root, cfg.ImageSize)
	switch {
	case err == nil:
		p.log.Info("reading prepared images", "dataset", p.name, "dir", c.Dir(), "size", c.Size(), "images", c.Len())
		return c, nil
	case cfg.Prepared == PreparedRequired:
		return nil, fmt.Errorf("dataset %s: prepared: required, but %w; run `convirt data prepare --dataset %s --root %s --size %d` (or set prepared: auto)",
			p.name, err, p.name, cfg.Root, max(prepare.DefaultSize, cfg.ImageSize))
	case !errors.Is(err, prepare.ErrNotPrepared):
		p.log.Warn("prepared cache unusable; reading the original images", "dataset", p.name, "error", err.Error())
	}
	return nil, nil
}
