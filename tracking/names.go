package tracking

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"path"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Run names are "<adjective>-<noun>-<n>" with n in [0, 1000], at most 20
// characters, the shape MLflow gives runs created without a name.
var (
	runNameAdjectives = [...]string{
		"agile", "amber", "bold", "brave", "bright", "calm", "clever", "cosmic",
		"crisp", "daring", "eager", "fair", "fancy", "fluent", "gentle", "glad",
		"golden", "grand", "happy", "honest", "humble", "jolly", "keen", "kind",
		"lively", "loyal", "lucid", "merry", "mighty", "modest", "neat", "nimble",
		"noble", "polite", "proud", "quick", "quiet", "rapid", "rare", "serene",
		"sharp", "shiny", "silent", "smart", "snappy", "steady", "sunny", "swift",
		"tidy", "upbeat", "vivid", "warm", "wise", "witty", "young", "zesty",
	}
	runNameNouns = [...]string{
		"ant", "badger", "bat", "bear", "bee", "bison", "carp", "cat", "crab",
		"crane", "crow", "deer", "dove", "duck", "eagle", "eel", "elk", "falcon",
		"finch", "fox", "frog", "gecko", "goat", "goose", "hare", "hawk", "heron",
		"ibis", "koala", "lark", "lemur", "lion", "lynx", "mole", "moose", "moth",
		"newt", "otter", "owl", "ox", "panda", "puffin", "quail", "raven", "robin",
		"seal", "shark", "sloth", "snail", "stork", "swan", "tiger", "toad",
		"trout", "viper", "whale", "wolf", "wren", "yak", "zebra",
	}
)

const runNameMaxLength = 20

// randIntn returns a uniform integer in [0, n) from crypto/rand.
func randIntn(n int) int {
	v, err := rand.Int(rand.Reader, big.NewInt(int64(n)))
	if err != nil {
		// crypto/rand does not fail on supported platforms.
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return int(v.Int64())
}

// generateRunName returns a random run name the way MLflow makes one:
// up to ten draws for one that fits in 20 characters, else the last draw
// cut to 20.
func generateRunName() string {
	var name string
	for range 10 {
		name = fmt.Sprintf("%s-%s-%d",
			runNameAdjectives[randIntn(len(runNameAdjectives))],
			runNameNouns[randIntn(len(runNameNouns))],
			randIntn(1001))
		if len(name) <= runNameMaxLength {
			return name
		}
	}
	return name[:runNameMaxLength]
}

// newRunID returns a uuid4 as 32 lowercase hex digits, MLflow's run ID.
func newRunID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	return hex.EncodeToString(b[:])
}

// experimentIDDigits is the width of the random experiment IDs MLflow's
// FileStore has generated since 2.0.
const experimentIDDigits = 18

// newExperimentID returns a random 18-digit decimal without a leading zero.
func newExperimentID() string {
	var sb strings.Builder
	sb.WriteByte(byte('1' + randIntn(9)))
	for range experimentIDDigits - 1 {
		sb.WriteByte(byte('0' + randIntn(10)))
	}
	return sb.String()
}

// MLflow's limits on names and values (mlflow/utils/validation.py).
const (
	maxEntityKeyLength        = 250
	maxParamValueLength       = 6000
	maxTagValueLength         = 8000
	maxExperimentNameLength   = 500
	maxExperimentTagKeyLength = 250
	maxExperimentTagValLength = 5000
	maxRegistryTagKeyLength   = 250
	maxRegistryTagValueLength = 5000
	maxAliasLength            = 255
	maxMetricsPerBatch        = 1000
	maxParamsTagsPerBatch     = 100
	maxEntitiesPerBatch       = 1000
	maxDatasetsPerBatch       = 1000
	maxDatasetNameSize        = 500
	maxDatasetDigestSize      = 36
	maxDatasetSchemaSize      = 1048575
	maxDatasetSourceSize      = 65535
	maxDatasetProfileSize     = 16777215
	maxInputTagKeySize        = 255
	maxInputTagValueSize      = 500
)

var (
	runIDPattern        = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_\-]{0,255}$`)
	experimentIDPattern = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_\-]{0,63}$`)
	aliasVersionPattern = regexp.MustCompile(`^[vV][0-9]+$`)
)

// isWordRune is Python's \w on str patterns: letters, digits and
// underscore from all of Unicode.
func isWordRune(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsNumber(r)
}

// invalidValue formats an invalid-argument message as MLflow's
// validation.invalid_value does, with the value as compact JSON.
func invalidValue(field, value, detail string) *Error {
	v, _ := json.Marshal(value)
	if detail == "" {
		return Errorf(CodeInvalidParameterValue, "Invalid value %s for parameter '%s' supplied.", v, field)
	}
	return Errorf(CodeInvalidParameterValue, "Invalid value %s for parameter '%s' supplied: %s", v, field, detail)
}

// validateEntityName checks a metric, param or tag key as MLflow does:
// only letters, digits, _ - . space / and colon, and a path that
// normalizes to itself, so that the key names a file under the run and
// nothing else (no "..", no leading "/", no "a//b").
func validateEntityName(field, name string) error {
	if name == "" {
		// An empty key would name the metrics/params/tags directory itself.
		return invalidValue(field, name, "A key name must be provided.")
	}
	for _, r := range name {
		if !(isWordRune(r) || strings.ContainsRune("/.- :", r)) {
			return invalidValue(field, name, "Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colon(:) and slashes (/).")
		}
	}
	norm := path.Clean(name)
	if norm != name || norm == "." || strings.HasPrefix(norm, "..") || strings.HasPrefix(norm, "/") {
		return invalidValue(field, name, fmt.Sprintf("Names may be treated as files in certain cases, and must not resolve to other names when treated as such. This name would resolve to '%s'", norm))
	}
	return nil
}

// validateLength refuses value when it has more than limit characters
// (Python counts code points).
func validateLength(field string, limit int, value string) error {
	if utf8.RuneCountInString(value) > limit {
		return Errorf(CodeInvalidParameterValue, "'%s' exceeds the maximum length of %d characters", field, limit)
	}
	return nil
}

// joinField is MLflow's append_to_json_path: "params[0]" + "key".
func joinField(prefix, field string) string {
	if prefix == "" {
		return field
	}
	return prefix + "." + field
}

func validateMetric(prefix string, m Metric) error {
	if err := validateEntityName(joinField(prefix, "name"), m.Key); err != nil {
		return err
	}
	if m.Timestamp < 0 {
		v, _ := json.Marshal(m.Timestamp)
		return Errorf(CodeInvalidParameterValue, "Invalid value %s for parameter '%s' supplied: metric '%s' (value=%s). Timestamp must be a nonnegative long (64-bit integer) ",
			v, joinField(prefix, "timestamp"), m.Key, pyFloatRepr(m.Value))
	}
	return validateLength("Metric name", maxEntityKeyLength, m.Key)
}

func validateParam(prefix string, p Param) error {
	if err := validateEntityName(joinField(prefix, "key"), p.Key); err != nil {
		return err
	}
	if err := validateLength("Param key", maxEntityKeyLength, p.Key); err != nil {
		return err
	}
	return validateLength("Param value", maxParamValueLength, p.Value)
}

func validateRunTag(prefix string, t Tag) error {
	if err := validateEntityName(joinField(prefix, "key"), t.Key); err != nil {
		return err
	}
	if err := validateLength(joinField(prefix, "key"), maxEntityKeyLength, t.Key); err != nil {
		return err
	}
	return validateLength(joinField(prefix, "value"), maxTagValueLength, t.Value)
}

func validateExperimentTag(t Tag) error {
	if err := validateEntityName("key", t.Key); err != nil {
		return err
	}
	if err := validateLength("key", maxExperimentTagKeyLength, t.Key); err != nil {
		return err
	}
	return validateLength("value", maxExperimentTagValLength, t.Value)
}

func validateRegistryTag(t Tag) error {
	if err := validateEntityName("key", t.Key); err != nil {
		return err
	}
	if err := validateLength("key", maxRegistryTagKeyLength, t.Key); err != nil {
		return err
	}
	return validateLength("value", maxRegistryTagValueLength, t.Value)
}

func validateRunID(runID string) error {
	if !runIDPattern.MatchString(runID) {
		return invalidValue("run_id", runID, "")
	}
	return nil
}

func validateExperimentID(id string) error {
	if !experimentIDPattern.MatchString(id) {
		return Errorf(CodeInvalidParameterValue, "Invalid experiment ID: '%s'", id)
	}
	return nil
}

func validateExperimentName(name string) error {
	if name == "" {
		return Errorf(CodeInvalidParameterValue, "Invalid experiment name: '%s'", name)
	}
	return validateLength("name", maxExperimentNameLength, name)
}

// validateModelName checks a registered model name. Besides MLflow's
// rules (not empty, no path separator, no '%'), "." and ".." are refused
// because the name is a directory under models/.
func validateModelName(name string) error {
	switch {
	case name == "":
		return Errorf(CodeInvalidParameterValue, "Missing value for required parameter 'name'.")
	case strings.ContainsAny(name, `/\`):
		return Errorf(CodeInvalidParameterValue, "Invalid name: '%s'. Registered model name cannot contain path separator", name)
	case strings.Contains(name, "%"):
		return Errorf(CodeInvalidParameterValue, "Invalid name: '%s'. Registered model name cannot contain '%%' character", name)
	case name == "." || name == "..":
		return Errorf(CodeInvalidParameterValue, "Invalid name: '%s'. Registered model name cannot be a relative path", name)
	case strings.ContainsRune(name, 0):
		return Errorf(CodeInvalidParameterValue, "Invalid name: %q. Registered model name cannot contain NUL", name)
	}
	return nil
}

func validateAliasName(alias string) error {
	if alias == "" {
		return Errorf(CodeInvalidParameterValue, "Registered model alias name cannot be empty.")
	}
	for _, r := range alias {
		if !(isWordRune(r) || r == '-') {
			return Errorf(CodeInvalidParameterValue, "Invalid alias name: '%s'. Names may only contain alphanumerics, underscores (_), and dashes (-).", alias)
		}
	}
	if err := validateLength("Registered model alias name", maxAliasLength, alias); err != nil {
		return err
	}
	if strings.EqualFold(alias, "latest") {
		return Errorf(CodeInvalidParameterValue, "'latest' alias name (case insensitive) is reserved.")
	}
	if aliasVersionPattern.MatchString(alias) {
		return Errorf(CodeInvalidParameterValue, "Version alias name '%s' is reserved.", alias)
	}
	return nil
}
