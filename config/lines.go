package config

import (
	"fmt"
	"reflect"
	"regexp"
	"strings"
)

// Lines maps the path of every option set in a document
// ("sessions.redis.addrs", "oidc.clients[1].secret_file",
// "trust.ca_dirs[0]") to the line of its key (of the item, in a list).
// check-config uses it to place the problems it finds in the files a
// configuration names.
type Lines map[string]int

// Of returns the line of path, or of its nearest enclosing option or
// section set in the document; 0 when none is.
func (l Lines) Of(path string) int {
	for path != "" {
		if n, ok := l[path]; ok {
			return n
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			return 0
		}
		path = path[:i]
	}
	return 0
}

var (
	optionInMsg = regexp.MustCompile(`^(?:one of the )?options? '([a-z0-9_]+)'`)
	indexInMsg  = regexp.MustCompile(`at index (\d+)`)
)

// Place sets the line of a problem found after decoding (by validation or
// while reading a *_file secret): the line of the option its message names,
// of the list item it names, or else of its section. A problem about an
// environment variable keeps no line: the file is not where it comes from.
func (l Lines) Place(fe *FieldError) {
	if fe.Line != 0 || strings.Contains(fe.Msg, "environment variable") {
		return
	}
	path := fe.Path
	if m := optionInMsg.FindStringSubmatch(fe.Msg); m != nil {
		path = join(path, m[1])
		if m := indexInMsg.FindStringSubmatch(fe.Msg); m != nil {
			path += "[" + m[1] + "]"
		}
	}
	fe.Line = l.Of(path)
}

// suggest returns the known key nearest to an unknown one, "" when none is
// near enough to be a likely typing mistake.
func suggest(unknown string, known map[string]reflect.StructField) string {
	best, bestDist := "", 0
	for k := range known {
		d := editDistance(unknown, k)
		if best == "" || d < bestDist || (d == bestDist && k < best) {
			best, bestDist = k, d
		}
	}
	limit := max(2, len(unknown)/3)
	if best == "" || bestDist > limit {
		return ""
	}
	return best
}

// editDistance is the Damerau–Levenshtein distance of a and b (optimal
// string alignment: insertions, deletions, substitutions and adjacent
// transpositions each cost 1).
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

var unmarshalMsg = regexp.MustCompile("^cannot unmarshal !!(\\w+)(?: `(.*)`)? into (.+)$")

// typeMessage rewrites a YAML decoder's type error about the option at
// path ("cannot unmarshal !!str `zero` into int") in an operator's words
// ("must be an integer but it's configured as 'zero'"). Messages it does
// not recognise are returned unchanged.
func typeMessage(path, text string) string {
	m := unmarshalMsg.FindStringSubmatch(text)
	if m == nil {
		return text
	}
	t := typeAt(path)
	if t == nil {
		return text
	}
	want := kindPhrase(t)
	if want == "" {
		return text
	}
	switch m[1] {
	case "seq":
		return want + " but it's configured as a list"
	case "map":
		return want + " but it's configured as a mapping"
	}
	return fmt.Sprintf("%s but it's configured as '%s'", want, m[2])
}

// kindPhrase says what a value of type t must be.
func kindPhrase(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "must be an integer"
	case reflect.Float32, reflect.Float64:
		return "must be a number"
	case reflect.Bool:
		return "must be true or false"
	case reflect.String:
		return "must be a single value (a string)"
	case reflect.Slice:
		return "must be a list"
	case reflect.Map:
		return "must be a mapping"
	case reflect.Struct:
		return "must be a mapping of options"
	}
	return ""
}

// typeAt returns the Go type of the option at path, nil when path names
// none.
func typeAt(path string) reflect.Type {
	t := configType
	for _, seg := range strings.Split(path, ".") {
		name, rest, _ := strings.Cut(seg, "[")
		rest = "[" + rest
		f, ok := fieldByKey(t, name)
		if !ok {
			return nil
		}
		t = f.Type
		for i := 0; i < strings.Count(rest, "]"); i++ {
			if t.Kind() != reflect.Slice {
				return nil
			}
			t = t.Elem()
		}
	}
	return t
}

func fieldByKey(t reflect.Type, key string) (reflect.StructField, bool) {
	if t.Kind() != reflect.Struct {
		return reflect.StructField{}, false
	}
	for _, f := range visibleFields(t) {
		if yamlName(f) == key {
			return f, true
		}
	}
	return reflect.StructField{}, false
}
