package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Loader reads a configuration. Its fields are how it reaches the world, so
// that tests inject them instead of touching the process environment.
type Loader struct {
	// LookupEnv reads the CNSGATE_* overlay; nil means no overlay.
	LookupEnv func(name string) (string, bool)
	// ReadFile reads the configuration file and the *_file secrets; nil
	// means os.ReadFile.
	ReadFile func(path string) ([]byte, error)
}

// Load reads the file at path (none when path is ""), overlays the process
// environment, resolves the *_file secrets and validates. It returns a
// *ValidationError listing every problem of the content, or the error of
// reading the file.
func Load(path string) (*Config, error) {
	return Loader{LookupEnv: os.LookupEnv, ReadFile: os.ReadFile}.Load(path)
}

// Parse is Load for a document already in memory, with env as the
// environment (nil for none). *_file secrets are read with os.ReadFile.
func Parse(data []byte, env func(string) (string, bool)) (*Config, error) {
	return Loader{LookupEnv: env}.Parse(data)
}

// Load reads the file at path, or nothing when path is "", then goes on as
// Parse. A missing file is an error, not an empty configuration.
func (l Loader) Load(path string) (*Config, error) {
	var data []byte
	if path != "" {
		var err error
		if data, err = l.readFile(path); err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
	}
	return l.Parse(data)
}

// Parse decodes data (empty means all defaults), overlays the environment,
// applies the defaults, resolves the *_file secrets and validates. Every
// problem of every step comes back in one *ValidationError.
func (l Loader) Parse(data []byte) (*Config, error) {
	c := newBase()
	var p problems
	if err := decode(data, c, &p); err != nil {
		return nil, err
	}
	l.overlayEnv(c, &p)
	c.applyDefaults()
	l.resolveSecrets(c, &p)
	if err := c.Validate(); err != nil {
		var ve *ValidationError
		if !errors.As(err, &ve) {
			return nil, err
		}
		p.errs = append(p.errs, ve.Errors...)
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	return c, nil
}

func (l Loader) readFile(path string) ([]byte, error) {
	if l.ReadFile != nil {
		return l.ReadFile(path)
	}
	return os.ReadFile(path)
}

var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// decode reads the YAML document in data onto c. Syntax errors stop it and
// come back as a *ValidationError; unknown keys and values of the wrong
// type are added to p and decoding goes on.
func decode(data []byte, c *Config, p *problems) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) { // only comments
			return nil
		}
		return syntaxError(err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return syntaxError(err)
		}
		return &ValidationError{Errors: []FieldError{{Line: extra.Line, Msg: "the file must hold one YAML document, not several"}}}
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" {
		return nil
	}
	if root.Kind != yaml.MappingNode {
		return &ValidationError{Errors: []FieldError{{Line: root.Line, Msg: "the document must be a mapping of options"}}}
	}

	// Walk the tree first: it names unknown keys with their full path and
	// learns which line holds which option, to place yaml's type errors.
	w := newWalker(p)
	w.mapping(root, configType, "")

	strict := yaml.NewDecoder(bytes.NewReader(data))
	strict.KnownFields(true)
	err := strict.Decode(c)
	var te *yaml.TypeError
	if errors.As(err, &te) {
		for _, msg := range te.Errors {
			w.typeError(msg)
		}
	} else if err != nil {
		return syntaxError(err)
	}
	// yaml drops a whole mapping that holds a key twice: validating what
	// is left would only add false problems.
	if w.duplicates > 0 {
		return p.err()
	}
	return nil
}

// typeError files one message of a yaml.TypeError under the option found on
// its line. Unknown fields are skipped when the walk already reported them.
func (w *walker) typeError(msg string) {
	m := yamlLine.FindStringSubmatch(msg)
	if m == nil {
		w.p.addLine("", 0, msg)
		return
	}
	line, _ := strconv.Atoi(m[1])
	text := m[2]
	switch {
	case unknownField.MatchString(text) && w.unknown > 0,
		duplicateKey.MatchString(text) && w.duplicates > 0:
		return // already reported by the walk, with its path
	case unknownField.MatchString(text), duplicateKey.MatchString(text):
		w.p.addLine("", line, text)
		return
	}
	path, ok := w.pathAt(line)
	if !ok {
		w.p.addLine("", line, text)
		return
	}
	section, key := split(path)
	w.p.addLine(section, line, fmt.Sprintf("option '%s': %s", key, text))
}

var (
	unknownField = regexp.MustCompile(`^field .* not found in type `)
	duplicateKey = regexp.MustCompile(`^mapping key .* already defined at line `)
)

func syntaxError(err error) error {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &ValidationError{Errors: []FieldError{{Line: line, Msg: "invalid YAML: " + m[2]}}}
	}
	return &ValidationError{Errors: []FieldError{{Msg: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")}}}
}
