package docsnippet

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"testing"
)

// Docs is the repository's docs directory, found from this file's place in
// the source tree, so that a test of any package can name a guide.
func Docs() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "docs")
}

// Find returns the block of the guide doc (a file name in Docs, such as
// "relying-parties.md") marked with name, without its code fence.
func Find(doc, name string) (string, error) {
	raw, err := os.ReadFile(filepath.Join(Docs(), doc))
	if err != nil {
		return "", err
	}
	re := regexp.MustCompile("(?s)<!-- snippet: " + regexp.QuoteMeta(name) + " \\([^>]*-->\n```[a-z]*\n(.*?)```\n<!-- end snippet -->")
	all := re.FindAllSubmatch(raw, -1)
	switch len(all) {
	case 0:
		return "", fmt.Errorf("docs/%s has no snippet %q between its markers", doc, name)
	case 1:
		return string(all[0][1]), nil
	default:
		return "", fmt.Errorf("docs/%s has %d snippets named %q", doc, len(all), name)
	}
}

// Block is Find for a test, which fails without the block.
func Block(t testing.TB, doc, name string) string {
	t.Helper()
	b, err := Find(doc, name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Equal fails t unless the block name of doc is, byte for byte, the file
// at path (relative to the test's package): the guide shows the file the
// test runs.
func Equal(t testing.TB, doc, name, path string) {
	t.Helper()
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := Block(t, doc, name); !bytes.Equal([]byte(got), want) {
		t.Fatalf("the snippet %q of docs/%s is not %s as the test runs it: copy the file into the guide\n--- guide\n%s\n--- %s\n%s", name, doc, path, got, path, want)
	}
}

// Region returns the lines of the source file at path between a line
// "// snippet: NAME" and a line "// end snippet", without the indentation
// of the opening marker: code that a test compiles and runs, shown in a
// guide.
func Region(path, name string) (string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	var out []byte
	indent, in := "", false
	for _, line := range bytes.SplitAfter(raw, []byte("\n")) {
		trimmed := bytes.TrimLeft(line, " \t")
		switch {
		case !in && string(bytes.TrimSpace(trimmed)) == "// snippet: "+name:
			in, indent = true, string(line[:len(line)-len(trimmed)])
		case in && string(bytes.TrimSpace(trimmed)) == "// end snippet":
			return string(out), nil
		case in:
			out = append(out, bytes.TrimPrefix(line, []byte(indent))...)
		}
	}
	return "", fmt.Errorf("%s has no region %q between // snippet: and // end snippet", path, name)
}

// EqualRegion fails t unless the block name of doc is, byte for byte, the
// region name of the source file at path (Region).
func EqualRegion(t testing.TB, doc, name, path string) {
	t.Helper()
	want, err := Region(path, name)
	if err != nil {
		t.Fatal(err)
	}
	if got := Block(t, doc, name); got != want {
		t.Fatalf("the snippet %q of docs/%s is not the region of %s that the test runs: copy it into the guide\n--- guide\n%s\n--- %s\n%s", name, doc, path, got, path, want)
	}
}
