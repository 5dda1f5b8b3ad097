// Package yamlpos holds what the strict YAML readers of the commands share
// (termsim's scenario files, cardhost's seed walks): a mistake at a
// position of a file, and the words for what a node is in messages. Both
// readers walk yaml.v3 nodes themselves so that they can report every
// mistake with its line and column.
package yamlpos

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// Error is one mistake at a position of a file.
type Error struct {
	Line, Column int
	Msg          string
}

// At returns the mistake msg (formatted) at n's position.
func At(n *yaml.Node, format string, args ...any) Error {
	return Error{Line: n.Line, Column: n.Column, Msg: fmt.Sprintf(format, args...)}
}

// Kind describes a node for messages ("a list", "text"...).
func Kind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	switch n.Tag {
	case "!!null":
		return "nothing (null)"
	case "!!int", "!!float":
		return "a number"
	case "!!bool":
		return "true/false"
	}
	return "text"
}
