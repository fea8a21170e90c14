// Package yamlnode holds what the strict YAML readers (the gate's rules,
// the pipeline config) share: reading exactly one document, and error
// messages that start with file:line.
package yamlnode

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Describe names a node's kind, or a scalar's value, for an error message:
// "a mapping", "a list", "no value" or the quoted scalar.
func Describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.ShortTag() == "!!null" {
			return "no value"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "an unexpected node"
}

// Decode reads data as exactly one YAML document, for the strict readers
// that report "name:LINE: message". It returns nil and no error when data
// holds no document; what names the content for the error about a second
// document ("the rules", "the config").
func Decode(data []byte, name, what string) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, Error(name, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, fmt.Errorf("%s:%d: a second YAML document; %s must be one document", name, extra.Line, what)
	} else if !errors.Is(err, io.EOF) {
		return nil, Error(name, err)
	}
	return &doc, nil
}

// Error turns yaml.v3's "yaml: line N: msg" into "name:N: msg".
func Error(name string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if n, tail, ok := strings.Cut(rest, ": "); ok {
			if _, aerr := strconv.Atoi(n); aerr == nil {
				return fmt.Errorf("%s:%s: %s", name, n, tail)
			}
		}
	}
	return fmt.Errorf("%s: %s", name, msg)
}
