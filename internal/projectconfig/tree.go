package projectconfig

import (
	"fmt"
	"math/big"
	"strconv"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/posml/posml"
)

// node is one value of a config document as PyYAML's safe_load reads it,
// remembering where it was written. Aliases are resolved and merge keys (<<)
// flattened, so a node is the value Python sees.
type node struct {
	file    string     // the file it came from, relative to the project root
	at      *yaml.Node // where it is written (the alias, for an aliased value)
	y       *yaml.Node // its content
	tag     pyTag
	value   any      // the Python value of a scalar
	entries []*entry // of a mapping, in Python's dict order
	items   []*node  // of a sequence
}

// entry is one key: value pair of a mapping.
type entry struct {
	key *node
	val *node
}

// name returns the key as a string, and false when Python reads the key as
// something else (an unquoted yes, 1 or null).
func (e *entry) name() (string, bool) {
	if e.key.tag != tagStr {
		return e.key.y.Value, false
	}
	return e.key.y.Value, true
}

// line and col locate n for a Diagnostic.
func (n *node) line() int { return n.at.Line }
func (n *node) col() int  { return n.at.Column }

// isEmpty reports whether n is null (an empty value, ~ or null) or the
// empty string.
func (n *node) isEmpty() bool {
	return n == nil || n.tag == tagNull || (n.tag == tagStr && n.y.Kind == yaml.ScalarNode && n.y.Value == "")
}

// field returns the value of key in mapping n, or nil.
func (n *node) field(key string) *entry {
	if n == nil || n.tag != tagMap {
		return nil
	}
	for _, e := range n.entries {
		if s, ok := e.name(); ok && s == key {
			return e
		}
	}
	return nil
}

// describe names what n is, for "must be a string, not ..." messages.
func (n *node) describe() string {
	if n.tag == tagTimestamp {
		return "a date"
	}
	return n.tag.String()
}

// builder turns a yaml.v3 document into nodes, reporting what safe_load
// would fail on or silently change.
type builder struct {
	file   string
	diags  []posml.Diagnostic
	count  int
	inside map[*yaml.Node]bool // the collections being built, to catch an alias to one of them
}

// maxNodes bounds the nodes built, so aliases cannot blow a small file up
// (the "billion laughs") or recurse forever.
const maxNodes = 100_000

func (b *builder) errorf(at *yaml.Node, rule, fix, format string, args ...any) {
	b.diags = append(b.diags, posml.Diagnostic{
		File: b.file, Line: at.Line, Col: at.Column, Severity: posml.SeverityError,
		Rule: rule, Msg: fmt.Sprintf(format, args...), Fix: fix,
	})
}

func (b *builder) warnf(at *yaml.Node, rule, fix, format string, args ...any) {
	b.diags = append(b.diags, posml.Diagnostic{
		File: b.file, Line: at.Line, Col: at.Column, Severity: posml.SeverityWarning,
		Rule: rule, Msg: fmt.Sprintf(format, args...), Fix: fix,
	})
}

func ruleOf(path string) string {
	if path == "" {
		return "yaml"
	}
	return path
}

// build converts y; path is the dotted key path, for diagnostics.
func (b *builder) build(y *yaml.Node, path string, depth int) *node {
	at := y
	for y.Kind == yaml.AliasNode && y.Alias != nil {
		y = y.Alias
	}
	n := &node{file: b.file, at: at, y: y}
	b.count++
	switch {
	case b.inside[y]:
		b.errorf(at, ruleOf(path), "write the values out instead of referring to the enclosing one", "the alias *%s refers to a value that contains it", at.Value)
		n.tag = tagInvalid
		return n
	case b.count > maxNodes || depth > 100:
		if b.count == maxNodes+1 || depth == 101 {
			b.errorf(at, ruleOf(path), "write the values out instead of nesting aliases", "the document expands to too many values (nested aliases)")
		}
		n.tag = tagInvalid
		return n
	}
	if y.Kind == yaml.SequenceNode || y.Kind == yaml.MappingNode {
		if b.inside == nil {
			b.inside = map[*yaml.Node]bool{}
		}
		b.inside[y] = true
		defer delete(b.inside, y)
	}
	explicit := ""
	if y.Style&yaml.TaggedStyle != 0 {
		explicit = y.Tag
	}
	switch y.Kind {
	case yaml.ScalarNode:
		b.scalar(n, explicit, path)
	case yaml.SequenceNode:
		if explicit != "" && explicit != "!!seq" {
			b.unsupportedTag(n, explicit, path)
			return n
		}
		n.tag = tagSeq
		for _, c := range y.Content {
			n.items = append(n.items, b.build(c, path, depth+1))
		}
	case yaml.MappingNode:
		if explicit != "" && explicit != "!!map" {
			b.unsupportedTag(n, explicit, path)
			return n
		}
		n.tag = tagMap
		b.mapping(n, path, depth)
	default:
		n.tag = tagInvalid
	}
	return n
}

func (b *builder) unsupportedTag(n *node, tag, path string) {
	n.tag = tagInvalid
	b.errorf(n.at, ruleOf(path), "remove the tag", "Python's yaml.safe_load cannot read a value tagged %s", tag)
}

func (b *builder) scalar(n *node, explicit, path string) {
	y := n.y
	switch {
	case explicit != "":
		switch explicit {
		case "!!str":
			n.tag = tagStr
		case "!!int":
			n.tag = tagInt
		case "!!float":
			n.tag = tagFloat
		case "!!bool":
			n.tag = tagBool
		case "!!null":
			n.tag = tagNull
		case "!!timestamp":
			n.tag = tagTimestamp
		case "!!binary":
			n.tag = tagBinary
		default:
			b.unsupportedTag(n, explicit, path)
			return
		}
	case y.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		n.tag = tagStr
	default:
		n.tag = resolvePlain(y.Value)
	}
	switch n.tag {
	case tagMerge:
		n.value = y.Value // only meaningful as a key; mapping() handles it
		return
	case tagInvalid:
		b.errorf(n.at, ruleOf(path), fmt.Sprintf("quote it: %q", y.Value),
			"Python's yaml.safe_load cannot read the unquoted value %s", y.Value)
		return
	}
	v, err := constructScalar(n.tag, y.Value)
	if err != nil {
		b.errorf(n.at, ruleOf(path), fmt.Sprintf("correct it, or quote it to keep it a string: %q", y.Value),
			"Python's yaml.safe_load fails on %s: %v", y.Value, err)
		n.tag = tagInvalid
		return
	}
	n.value = v
}

// mapping fills n.entries as SafeConstructor.construct_mapping does: merged
// mappings (<<) first, then n's own keys; a later key replaces the value of
// an earlier equal key but keeps its place.
func (b *builder) mapping(n *node, path string, depth int) {
	var merged, own []*entry
	c := n.y.Content
	for i := 0; i+1 < len(c); i += 2 {
		k := b.build(c[i], path, depth+1)
		childPath := path
		if k.tag == tagStr {
			if childPath != "" {
				childPath += "."
			}
			childPath += k.y.Value
		}
		v := b.build(c[i+1], childPath, depth+1)
		if k.tag == tagMerge {
			merged = append(merged, b.mergeEntries(v, path)...)
			continue
		}
		if k.tag == tagSeq || k.tag == tagMap {
			b.errorf(k.at, ruleOf(path), "use a plain string as the key", "Python's yaml.safe_load fails on this key: found unhashable key")
			continue
		}
		own = append(own, &entry{key: k, val: v})
	}
	index := map[string]int{}
	add := func(e *entry, isOwn bool) {
		id := keyID(e.key)
		if i, ok := index[id]; ok {
			prev := n.entries[i]
			if isOwn && !prev.merged(merged) && e.key.tag != tagInvalid {
				rule := e.key.y.Value
				if path != "" {
					rule = path + "." + rule
				}
				rule = ruleOf(rule)
				b.warnf(e.key.at, rule, "remove one of them",
					"key %s is also defined at line %d; Python keeps the last one", e.key.y.Value, prev.key.line())
			}
			n.entries[i] = &entry{key: prev.key, val: e.val} // a dict keeps its first key
			return
		}
		index[id] = len(n.entries)
		n.entries = append(n.entries, e)
	}
	for _, e := range merged {
		add(e, false)
	}
	for _, e := range own {
		add(e, true)
	}
}

// merged reports whether e came from a merge key.
func (e *entry) merged(from []*entry) bool {
	for _, m := range from {
		if m.key == e.key {
			return true
		}
	}
	return false
}

// mergeEntries returns the entries a << key merges in: those of a mapping,
// or of a list of mappings, where earlier mappings win.
func (b *builder) mergeEntries(v *node, path string) []*entry {
	switch v.tag {
	case tagMap:
		return v.entries
	case tagSeq:
		var out []*entry
		for i := len(v.items) - 1; i >= 0; i-- {
			item := v.items[i]
			if item.tag != tagMap {
				b.errorf(item.at, ruleOf(path), "merge only mappings", "Python's yaml.safe_load fails: expected a mapping for merging, but found %s", item.describe())
				continue
			}
			out = append(out, item.entries...)
		}
		return out
	}
	b.errorf(v.at, ruleOf(path), "merge only mappings", "Python's yaml.safe_load fails: expected a mapping or list of mappings for merging, but found %s", v.describe())
	return nil
}

// keyID identifies a key the way a Python dict does: 1, 1.0 and true are
// the same key.
func keyID(k *node) string {
	switch v := k.value.(type) {
	case string:
		return "s" + v
	case bool:
		if v {
			return "n1"
		}
		return "n0"
	case int:
		return "n" + strconv.Itoa(v)
	case *big.Int:
		return "n" + v.String()
	case float64:
		if v == float64(int64(v)) {
			return "n" + strconv.FormatInt(int64(v), 10)
		}
		return "f" + strconv.FormatFloat(v, 'g', -1, 64)
	case nil:
		return "z"
	case time.Time:
		return "t" + v.Format(time.RFC3339Nano)
	case []byte:
		return "b" + string(v)
	}
	return "?" + k.y.Value
}

// python returns n as Python's safe_load would build it: string, int (or
// *big.Int), float64, bool, nil, time.Time, []byte, []any, and
// map[string]any (map[any]any when a key is not a string). Values safe_load
// fails on are given as their text.
func (n *node) python() any {
	switch n.tag {
	case tagSeq:
		out := make([]any, len(n.items))
		for i, it := range n.items {
			out[i] = it.python()
		}
		return out
	case tagMap:
		allStr := true
		for _, e := range n.entries {
			if _, ok := e.name(); !ok {
				allStr = false
			}
		}
		if allStr {
			out := make(map[string]any, len(n.entries))
			for _, e := range n.entries {
				out[e.key.y.Value] = e.val.python()
			}
			return out
		}
		out := make(map[any]any, len(n.entries))
		for _, e := range n.entries {
			k := e.key.python()
			if bi, ok := k.(*big.Int); ok {
				k = bi.String()
			} else if bs, ok := k.([]byte); ok {
				k = string(bs)
			}
			out[k] = e.val.python()
		}
		return out
	case tagInvalid, tagMerge:
		return n.y.Value
	}
	return n.value
}
