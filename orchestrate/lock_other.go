//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package orchestrate

// lockWork does not lock where this package has no file locks: do not
// start two runs on one work directory there.
func lockWork(string) (func(), error) { return func() {}, nil }

// LockFile does not lock where this package has no file locks.
func LockFile(string) (unlock func(), err error) { return func() {}, nil }
