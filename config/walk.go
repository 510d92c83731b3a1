package config

import (
	"fmt"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

var configType = reflect.TypeOf(Config{})

// ambiguous marks a line that holds several options (a flow mapping).
const ambiguous = "\x00"

// walker goes over the YAML tree beside the Config type, reporting unknown
// keys with their path and remembering which option sits on which line.
type walker struct {
	p          *problems
	unknown    int            // unknown keys reported
	duplicates int            // keys set twice in one mapping
	lines      map[int]string // line -> path of the option whose value starts there
	keys       Lines          // path of each option and list item -> line of its key
	fields     map[reflect.Type]map[string]reflect.StructField
	walked     map[walkKey]bool
}

type walkKey struct {
	n    *yaml.Node
	path string
}

func newWalker(p *problems) *walker {
	return &walker{
		p:      p,
		lines:  map[int]string{},
		keys:   Lines{},
		fields: map[reflect.Type]map[string]reflect.StructField{},
		walked: map[walkKey]bool{},
	}
}

func (w *walker) mapping(n *yaml.Node, t reflect.Type, path string) {
	// An anchored mapping merged or aliased twice at one path would be
	// walked twice, and nested merges would make that exponential.
	if w.walked[walkKey{n, path}] {
		return
	}
	w.walked[walkKey{n, path}] = true
	fields := w.fieldsOf(t)
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.ShortTag() == "!!merge" {
			w.merge(v, t, path)
			continue
		}
		if first, dup := seen[k.Value]; dup {
			w.duplicates++
			w.p.addLine(path, k.Line, fmt.Sprintf("option '%s' is set twice, first at line %d", k.Value, first))
			continue
		}
		seen[k.Value] = k.Line
		f, ok := fields[k.Value]
		if !ok {
			w.unknown++
			msg := fmt.Sprintf("option '%s' is unknown", k.Value)
			if near := suggest(k.Value, fields); near != "" {
				msg += fmt.Sprintf("; did you mean '%s'?", near)
			}
			w.p.addLine(path, k.Line, msg)
			continue
		}
		p := join(path, k.Value)
		if _, ok := w.keys[p]; !ok {
			w.keys[p] = k.Line
		}
		w.mark(v, p)
		w.value(v, f.Type, p)
	}
}

// merge walks the mappings of a "<<" key as if their keys were written in
// place.
func (w *walker) merge(v *yaml.Node, t reflect.Type, path string) {
	if v.Kind == yaml.AliasNode {
		v = v.Alias
	}
	switch v.Kind {
	case yaml.MappingNode:
		w.mapping(v, t, path)
	case yaml.SequenceNode:
		for _, e := range v.Content {
			w.merge(e, t, path)
		}
	}
}

func (w *walker) value(n *yaml.Node, t reflect.Type, path string) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	switch {
	case t.Kind() == reflect.Struct && n.Kind == yaml.MappingNode:
		w.mapping(n, t, path)
	case t.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
		for i, e := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			w.keys[p] = e.Line
			if t.Elem().Kind() == reflect.Struct {
				w.value(e, t.Elem(), p)
			} else if e.Line != n.Line {
				w.mark(e, p)
			}
		}
	}
}

// mark records that the value of path starts on v's line. Where a value
// and one of its descendants share a line (a block mapping starts with its
// first key), the descendant wins: the walk only descends into nodes of the
// right kind, so yaml's type error is about the descendant. Unrelated
// options on one line (a flow mapping) make the line ambiguous.
func (w *walker) mark(v *yaml.Node, path string) {
	old, ok := w.lines[v.Line]
	switch {
	case !ok, strings.HasPrefix(path, old+"."), strings.HasPrefix(path, old+"["):
		w.lines[v.Line] = path
	default:
		w.lines[v.Line] = ambiguous
	}
}

// pathAt returns the option whose value is on a line.
func (w *walker) pathAt(line int) (string, bool) {
	p, ok := w.lines[line]
	return p, ok && p != ambiguous
}

func (w *walker) fieldsOf(t reflect.Type) map[string]reflect.StructField {
	if m, ok := w.fields[t]; ok {
		return m
	}
	m := map[string]reflect.StructField{}
	for _, f := range visibleFields(t) {
		m[yamlName(f)] = f
	}
	w.fields[t] = m
	return m
}

// visibleFields returns the exported fields of t that have a YAML key.
func visibleFields(t reflect.Type) []reflect.StructField {
	var out []reflect.StructField
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() || yamlName(f) == "" {
			continue
		}
		out = append(out, f)
	}
	return out
}

// yamlName is the key of a field: its yaml tag's name, "" when it has none
// or is "-".
func yamlName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "-" {
		return ""
	}
	return name
}
