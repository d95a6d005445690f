package preflight

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// File is a file or folder a plugin's config names, which must exist
// before the plugin starts.
type File struct {
	Key      string   // the config key that names it ("weights"), or the key it derives from
	Path     string   // as the config gives it, relative to the working directory
	Dir      bool     // a folder, not a file
	Contains []string // files a folder must hold
	Fix      string   // what to do when it is missing
}

// files checks the files and folders ro's config names.
func (k *checker) files(ro role) {
	if k.c.Files == nil {
		return
	}
	for _, f := range k.c.Files(ro.ref.Plugin, ro.ref.Config) {
		if f.Path == "" || k.synthesized(f.Path) {
			continue
		}
		where := ro.where + ".config." + f.Key
		fi, err := os.Stat(f.Path)
		switch {
		case err != nil:
			k.add(where, fmt.Sprintf("%s %s does not exist", kind(f.Dir), f.Path), f.Fix)
			continue
		case f.Dir && !fi.IsDir():
			k.add(where, fmt.Sprintf("%s is a file; a folder is expected", f.Path), f.Fix)
			continue
		case !f.Dir && fi.IsDir():
			k.add(where, fmt.Sprintf("%s is a folder; a file is expected", f.Path), f.Fix)
			continue
		}
		var missing []string
		for _, name := range f.Contains {
			if _, err := os.Stat(filepath.Join(f.Path, name)); err != nil {
				missing = append(missing, name)
			}
		}
		if len(missing) > 0 {
			k.add(where, fmt.Sprintf("folder %s lacks %s", f.Path, strings.Join(missing, ", ")), f.Fix)
		}
	}
}

func kind(dir bool) string {
	if dir {
		return "folder"
	}
	return "file"
}
