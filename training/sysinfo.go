package training

import (
	"bufio"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/nebras-ai/nebras/model/kernels"
)

// sysUnknown is recorded for a property this machine or binary does not
// tell.
const sysUnknown = "unknown"

// SystemInfo describes the machine and binary a run trains on, as keys
// prefixed "system." (they are logged as MLflow params and tags): CPU
// model, logical cores, worker threads (threads ≤ 0 means
// runtime.GOMAXPROCS(0), as kernels.NewCPU counts them), OS and
// architecture, Go version, the SIMD kernels in use, hostname and the
// binary's git commit.
func SystemInfo(threads int) []KV {
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	cpuModel := sysUnknown
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		cpuModel = cpuModelName(f)
		f.Close()
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = sysUnknown
	}
	commit, modified := sysUnknown, sysUnknown
	if bi, ok := debug.ReadBuildInfo(); ok {
		commit, modified = vcsInfo(bi)
	}
	return []KV{
		{"system.cpu_model", cpuModel},
		{"system.cpu_cores", strconv.Itoa(runtime.NumCPU())},
		{"system.threads", strconv.Itoa(threads)},
		{"system.os", runtime.GOOS},
		{"system.arch", runtime.GOARCH},
		{"system.go_version", runtime.Version()},
		{"system.simd", kernels.Features()},
		{"system.hostname", host},
		{"system.git_commit", commit},
		{"system.git_modified", modified},
	}
}

// cpuModelName reads the processor's name from /proc/cpuinfo: "model
// name" on x86, "Model" or "Hardware" on ARM boards, "cpu model" on MIPS,
// "cpu" on POWER. The first processor's entry stands for all of them.
func cpuModelName(r io.Reader) string {
	found := map[string]string{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		if _, seen := found[key]; !seen && value != "" {
			found[key] = value
		}
	}
	for _, key := range []string{"model name", "Model", "Hardware", "cpu model", "cpu"} {
		if v, ok := found[key]; ok {
			return v
		}
	}
	return sysUnknown
}

// vcsInfo returns the git revision the binary was built from and whether
// the work tree had local changes ("true"/"false"), "unknown" when the
// build did not record them (go run, go test, -buildvcs=false).
func vcsInfo(bi *debug.BuildInfo) (commit, modified string) {
	commit, modified = sysUnknown, sysUnknown
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			if s.Value != "" {
				commit = s.Value
			}
		case "vcs.modified":
			if s.Value != "" {
				modified = s.Value
			}
		}
	}
	return commit, modified
}
