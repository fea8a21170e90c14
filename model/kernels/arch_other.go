//go:build !amd64 || purego

package kernels

var best = generic

// archs returns the instruction sets this machine can run, for tests.
func archs() []*arch { return []*arch{generic} }
