//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package orchestrate

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockWork takes an exclusive flock on WORK/.lock, or fails at once when
// another run holds it: two runs on one work directory would clear each
// other's stage directories. The kernel drops the lock when the process
// dies, so a killed run leaves nothing to clean up.
func lockWork(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o666)
	if err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, errors.New("another nebras run is using this work directory")
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// LockFile takes the same exclusive, non-blocking lock on path (created
// if need be) for callers that keep state of their own beside a work
// directory, such as `nebras retrain`; the returned function releases it.
func LockFile(path string) (unlock func(), err error) { return lockWork(path) }
