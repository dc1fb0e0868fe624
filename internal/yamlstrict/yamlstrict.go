package yamlstrict

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"github.com/infergate/infergate/internal/fieldpath"
	"gopkg.in/yaml.v3"
)

// The messages of yaml.v3's TypeError that decodeErrors rewrites with the
// field path of the key or value they are about.
var (
	unknownFieldRE = regexp.MustCompile("(?s)^line ([0-9]+): field (.+) not found in type (.+)$")
	fieldTwiceRE   = regexp.MustCompile("(?s)^line ([0-9]+): field (.+) already set in type (.+)$")
	keyTwiceRE     = regexp.MustCompile("(?s)^line ([0-9]+): mapping key \"(.+)\" already defined at line ([0-9]+)$")
	cannotUseRE    = regexp.MustCompile("(?s)^line ([0-9]+): cannot unmarshal (!![a-z]+)(?: `(.*)`)? into (.+)$")
)

// typeNames says in words what a Go type of the schema expects.
var typeNames = map[string]string{
	"time.Duration": `a duration such as "250ms" or "2s"`,
	"int":           "a whole number",
	"string":        "a string",
	"[]int":         "a list of whole numbers, such as [4, 8]",
}

// decodeErrors turns yaml.v3's unmarshal errors into one error per problem,
// each naming the field path (routes[customer-churn].batching.max_batch) and
// the line, so that a typo in a nested key is as easy to find as a
// validation error. Other errors (YAML syntax) are returned as they are.
func decodeErrors(data []byte, err error, keysHint string) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return errors.New(fieldpath.OneLine(err.Error()))
	}
	var root yaml.Node
	if yaml.Unmarshal(data, &root) != nil {
		return errors.New(fieldpath.OneLine(err.Error()))
	}
	idx := nodeIndex{}
	idx.walk(&root, "")
	errs := make([]error, 0, len(te.Errors))
	for _, msg := range te.Errors {
		errs = append(errs, errors.New(fieldpath.OneLine(idx.rewrite(msg, keysHint))))
	}
	return errors.Join(errs...)
}

// nodeIndex lists every key and value node of a document with its field
// path, by line.
type nodeIndex map[int][]indexedNode

type indexedNode struct {
	path  string
	node  *yaml.Node
	isKey bool
}

func (idx nodeIndex) add(path string, n *yaml.Node, isKey bool) {
	idx[n.Line] = append(idx[n.Line], indexedNode{path: path, node: n, isKey: isKey})
}

func (idx nodeIndex) walk(n *yaml.Node, path string) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			idx.walk(c, path)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := k.Value
			if path != "" {
				p = path + "." + k.Value
			}
			idx.add(p, k, true)
			idx.add(p, v, false)
			idx.walk(v, p)
		}
	case yaml.SequenceNode:
		for i, item := range n.Content {
			p := fieldpath.Item(path, itemLabel(item), i)
			idx.add(p, item, false)
			idx.walk(item, p)
		}
	}
}

// itemLabel returns the name key of a list item, by which Validate names it
// (routes[customer-churn]), or "" when it has none.
func itemLabel(item *yaml.Node) string {
	if item.Kind == yaml.MappingNode {
		for j := 0; j+1 < len(item.Content); j += 2 {
			if k, v := item.Content[j], item.Content[j+1]; (k.Value == "name" || k.Value == "id") && v.Kind == yaml.ScalarNode {
				return v.Value
			}
		}
	}
	return ""
}

// findKey returns the path of the key named key at line.
func (idx nodeIndex) findKey(line int, key string) (string, bool) {
	for _, in := range idx[line] {
		if in.isKey && in.node.Value == key {
			return in.path, true
		}
	}
	return "", false
}

// findValue returns the value at line that yaml.v3 describes by tag and
// value. yaml.v3 shortens long values to their first 7 bytes and "...". A
// mapping or list may share its line with one nested in it (flow style); the
// innermost is taken, as the outer one decoded well enough to be entered.
func (idx nodeIndex) findValue(line int, tag, value string) (string, *yaml.Node, bool) {
	kind := yaml.ScalarNode
	switch tag {
	case "!!map":
		kind = yaml.MappingNode
	case "!!seq":
		kind = yaml.SequenceNode
	}
	prefix, shortened := strings.CutSuffix(value, "...")
	var found *indexedNode
	for i := range idx[line] {
		in := &idx[line][i]
		if in.isKey || in.node.Kind != kind {
			continue
		}
		if kind != yaml.ScalarNode {
			found = in
			continue
		}
		if in.node.Value == value || (shortened && strings.HasPrefix(in.node.Value, prefix)) {
			return in.path, in.node, true
		}
	}
	if found == nil {
		return "", nil, false
	}
	return found.path, found.node, true
}

func (idx nodeIndex) rewrite(msg, keysHint string) string {
	if m := unknownFieldRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		if path, ok := idx.findKey(line, m[2]); ok {
			return fmt.Sprintf("line %d: %s: unknown key; %s", line, path, keysHint)
		}
	}
	if m := fieldTwiceRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		if path, ok := idx.findKey(line, m[2]); ok {
			return fmt.Sprintf("line %d: %s: key set twice", line, path)
		}
	}
	if m := keyTwiceRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		if path, ok := idx.findKey(line, m[2]); ok {
			return fmt.Sprintf("line %d: %s: key already set at line %s", line, path, m[3])
		}
	}
	if m := cannotUseRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		if path, n, ok := idx.findValue(line, m[2], m[3]); ok {
			want := typeNames[m[4]]
			switch {
			case want != "":
			case strings.HasPrefix(m[4], "[]"):
				want = "a list"
			case strings.Contains(m[4], "."):
				want = "a mapping of keys"
			default:
				want = m[4]
			}
			got := strconv.Quote(n.Value)
			switch n.Kind {
			case yaml.MappingNode:
				got = "a mapping"
			case yaml.SequenceNode:
				got = "a list"
			}
			return fmt.Sprintf("line %d: %s: %s is not %s", line, path, got, want)
		}
	}
	return msg
}

// Decode decodes one YAML document into v: an unknown key is an error, and
// every error names its line and field path. keysHint says where the valid
// keys are listed, for the unknown-key message ("configs/infergate.yaml
// lists the keys").
func Decode(data []byte, v any, keysHint string) (err error) {
	// yaml.v3 v3.0.1 panics on some inputs (a merge key beside a key that
	// is a mapping or a list, go-yaml/yaml#895). complexKey refuses those
	// known ones with a line number; the recover is for any other.
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("yaml: the file cannot be decoded (%s); check its keys, anchors and merge keys (<<)", fieldpath.OneLine(fmt.Sprint(p)))
		}
	}()
	var root yaml.Node
	if yaml.Unmarshal(data, &root) == nil {
		if err := complexKey(&root); err != nil {
			return err
		}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return decodeErrors(data, err, keysHint)
	}
	if err := dec.Decode(new(yaml.Node)); !errors.Is(err, io.EOF) {
		return errors.New("the file holds more than one YAML document (a second \"---\"); keep one")
	}
	return nil
}

// complexKey refuses a mapping key that is itself a mapping or a list ("? [a,
// b]: c"): no key of the schema is one.
func complexKey(n *yaml.Node) error {
	if n.Kind == yaml.MappingNode {
		for i := 0; i < len(n.Content); i += 2 {
			k := n.Content[i]
			kind := k.Kind
			if kind == yaml.AliasNode && k.Alias != nil {
				kind = k.Alias.Kind
			}
			if kind == yaml.MappingNode || kind == yaml.SequenceNode {
				return fmt.Errorf("line %d: a key must be a plain name, not a mapping or a list", k.Line)
			}
		}
	}
	for _, c := range n.Content {
		if err := complexKey(c); err != nil {
			return err
		}
	}
	return nil
}
