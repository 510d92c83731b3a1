package config

import (
	"io/fs"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestExample(t *testing.T) {
	files := Loader{ReadFile: func(p string) ([]byte, error) {
		switch p {
		case "/run/secrets/esenzioni-client-secret":
			return []byte("s3cret\n"), nil
		case "/run/secrets/oidc-subject-salt", "/run/secrets/saml-name-id-salt":
			return []byte(testSalt + "\n"), nil
		}
		return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
	}}
	c, err := files.Parse(Example())
	if err != nil {
		t.Fatalf("the example does not validate:\n%v", err)
	}
	if c.OIDC.Clients[0].Secret.Value() != "s3cret" {
		t.Errorf("example client secret not read from its file")
	}
	if c.OIDC.SubjectSalt.Value() != testSalt {
		t.Errorf("example subject salt not read from its file")
	}

	// Every option of the schema is in the example, so that it documents
	// them all.
	var doc map[string]any
	if err := yaml.Unmarshal(Example(), &doc); err != nil {
		t.Fatal(err)
	}
	for _, path := range schemaPaths(configType, "") {
		if !hasPath(doc, path) {
			t.Errorf("example.yaml lacks %s", path)
		}
	}
}

// schemaPaths lists every option of t; list elements appear as "[]".
func schemaPaths(t reflect.Type, prefix string) []string {
	var out []string
	for _, f := range visibleFields(t) {
		p := join(prefix, yamlName(f))
		switch {
		case f.Type.Kind() == reflect.Struct:
			out = append(out, schemaPaths(f.Type, p)...)
		case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct:
			out = append(out, schemaPaths(f.Type.Elem(), p+".[]")...)
		default:
			out = append(out, p)
		}
	}
	return out
}

func hasPath(v any, path string) bool {
	head, rest, more := strings.Cut(path, ".")
	if head == "[]" {
		list, ok := v.([]any)
		return ok && len(list) > 0 && (!more || hasPath(list[0], rest))
	}
	m, ok := v.(map[string]any)
	if !ok {
		return false
	}
	child, ok := m[head]
	return ok && (!more || hasPath(child, rest))
}
