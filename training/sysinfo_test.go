package training

import (
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/nebras-ai/nebras/model/kernels"
)

func TestCPUModelName(t *testing.T) {
	for _, c := range []struct {
		name, cpuinfo, want string
	}{
		{"x86", "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel\t\t: 143\nmodel name\t: Intel(R) Xeon(R) Platinum 8480+\n\nprocessor\t: 1\nmodel name\t: Intel(R) Xeon(R) Platinum 8480+\n", "Intel(R) Xeon(R) Platinum 8480+"},
		{"arm board", "processor\t: 0\nBogoMIPS\t: 108.00\nCPU part\t: 0xd08\n\nHardware\t: BCM2835\nModel\t\t: Raspberry Pi 4 Model B Rev 1.4\n", "Raspberry Pi 4 Model B Rev 1.4"},
		{"arm server", "processor\t: 0\nCPU implementer\t: 0x41\n\nHardware\t: Neoverse\n", "Neoverse"},
		{"power", "processor\t: 0\ncpu\t\t: POWER9 (architected), altivec supported\n", "POWER9 (architected), altivec supported"},
		{"empty model name", "model name\t:\n", sysUnknown},
		{"nothing", "", sysUnknown},
	} {
		if got := cpuModelName(strings.NewReader(c.cpuinfo)); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

func TestVCSInfo(t *testing.T) {
	for _, c := range []struct {
		name             string
		settings         []debug.BuildSetting
		commit, modified string
	}{
		{"clean", []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "267d3c6aa"}, {Key: "vcs.modified", Value: "false"}}, "267d3c6aa", "false"},
		{"dirty", []debug.BuildSetting{{Key: "vcs.revision", Value: "abc"}, {Key: "vcs.modified", Value: "true"}}, "abc", "true"},
		{"no vcs", []debug.BuildSetting{{Key: "-trimpath", Value: "true"}}, sysUnknown, sysUnknown},
	} {
		commit, modified := vcsInfo(&debug.BuildInfo{Settings: c.settings})
		if commit != c.commit || modified != c.modified {
			t.Errorf("%s: %q, %q; want %q, %q", c.name, commit, modified, c.commit, c.modified)
		}
	}
}

func TestSystemInfo(t *testing.T) {
	for _, c := range []struct {
		threads int
		want    string
	}{
		{3, "3"},
		{0, strconv.Itoa(runtime.GOMAXPROCS(0))},
		{-1, strconv.Itoa(runtime.GOMAXPROCS(0))},
	} {
		kvs := SystemInfo(c.threads)
		got := map[string]string{}
		for _, kv := range kvs {
			if !strings.HasPrefix(kv.Key, "system.") {
				t.Errorf("key %q lacks the system. prefix", kv.Key)
			}
			if _, dup := got[kv.Key]; dup {
				t.Errorf("key %q twice", kv.Key)
			}
			if kv.Value == "" {
				t.Errorf("%s is empty", kv.Key)
			}
			got[kv.Key] = kv.Value
		}
		for key, want := range map[string]string{
			"system.threads":    c.want,
			"system.cpu_cores":  strconv.Itoa(runtime.NumCPU()),
			"system.os":         runtime.GOOS,
			"system.arch":       runtime.GOARCH,
			"system.go_version": runtime.Version(),
			"system.simd":       kernels.Features(),
		} {
			if got[key] != want {
				t.Errorf("threads %d: %s = %q, want %q", c.threads, key, got[key], want)
			}
		}
		for _, key := range []string{"system.cpu_model", "system.hostname", "system.git_commit", "system.git_modified"} {
			if _, ok := got[key]; !ok {
				t.Errorf("no %s", key)
			}
		}
	}
}
