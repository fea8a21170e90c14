// Package yamlnode holds what the strict YAML readers (the gate's rules,
// the pipeline config) share for their error messages.
package yamlnode

import (
	"fmt"

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
