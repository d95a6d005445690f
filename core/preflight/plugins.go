package preflight

import (
	"fmt"
	"os"
)

// plugin checks that the plugin ro names is built in or installed with an
// executable binary; false when it is not there at all.
func (k *checker) plugin(ro role) bool {
	if k.c.Registry == nil {
		return true
	}
	spec, err := k.c.Registry.Spec(ro.ref.Plugin)
	if err != nil {
		k.add(ro.where+".plugin", err.Error(), fmt.Sprintf("install it (convirt plugin install BINARY, or --plugins DIR for another plugin folder); `convirt plugin list` lists the built-in and installed plugins (plugin folder %s)", k.c.Registry.Dir))
		return false
	}
	if spec.BuiltIn {
		return true
	}
	fi, err := os.Stat(spec.Path)
	switch {
	case err != nil:
		k.add(ro.where+".plugin", fmt.Sprintf("plugin %s: its binary %s is missing: %v", spec.Name, spec.Path, err), "install the plugin again (convirt plugin install BINARY)")
		return false
	case fi.IsDir() || fi.Mode().Perm()&0o111 == 0:
		k.add(ro.where+".plugin", fmt.Sprintf("plugin %s: its binary %s is not an executable file (mode %v)", spec.Name, spec.Path, fi.Mode()), fmt.Sprintf("chmod +x %s, or install the plugin again (convirt plugin install BINARY)", spec.Path))
		return false
	}
	return true
}
