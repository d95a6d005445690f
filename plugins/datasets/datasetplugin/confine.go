package datasetplugin

import (
	"fmt"

	"github.com/convirt/convirt/plugins/datasets/source"
)

// rootKeys are reader options naming a directory that index paths are
// resolved against instead of root (chexpert's parent_root): images may
// resolve inside it too.
var rootKeys = []string{"parent_root"}

// confinement returns the real directories (symlinks resolved) that images
// must resolve inside: root and the rootKeys options that are set; nil
// with allow_outside_root.
func (p *Plugin) confinement() ([]string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cfg.AllowOutside || p.roots != nil {
		return p.roots, nil
	}
	dirs := []string{p.cfg.Root}
	for _, k := range rootKeys {
		if d, _ := p.opts[k].(string); d != "" {
			dirs = append(dirs, d)
		}
	}
	roots, err := source.RealDirs(dirs...)
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %w", p.name, err)
	}
	p.roots = roots
	return roots, nil
}
