package host

// SetPrivateCopy makes Start run verified binaries from a private copy
// (true), as where /proc is not mounted, or from the file that was hashed
// (false, the default on Linux).
func SetPrivateCopy(on bool) { forcePrivateCopy = on }

// SetBeforeExec sets a function that runs just before a plugin process is
// executed, with the path the spec names; nil removes it.
func SetBeforeExec(f func(path string)) { beforeExec = f }
