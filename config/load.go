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
// problem of every step comes back in one *ValidationError, each with the
// line of the option it is about when the file sets it.
func (l Loader) Parse(data []byte) (*Config, error) {
	c, _, err := l.ParseLenient(data)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// ParseLenient is Parse for check-config: besides the problems, it returns
// the configuration as far as it could be read (nil only when the
// document is not a readable mapping of options) and the line of every
// option the file sets, so that the files it names can be checked too and
// their problems placed.
func (l Loader) ParseLenient(data []byte) (*Config, Lines, error) {
	c := newBase()
	var p problems
	lines, err := decode(data, c, &p)
	if err != nil {
		return nil, lines, err
	}
	if lines == nil { // duplicate keys: what is left would only add false problems
		return nil, Lines{}, p.err()
	}
	l.overlayEnv(c, &p)
	c.applyDefaults()
	l.resolveSecrets(c, &p)
	if err := c.Validate(); err != nil {
		var ve *ValidationError
		if !errors.As(err, &ve) {
			return nil, lines, err
		}
		p.errs = append(p.errs, ve.Errors...)
	}
	for i := range p.errs {
		lines.Place(&p.errs[i])
	}
	return c, lines, p.err()
}

func (l Loader) readFile(path string) ([]byte, error) {
	if l.ReadFile != nil {
		return l.ReadFile(path)
	}
	return os.ReadFile(path)
}

var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// maxSyntaxErrors bounds the lines decode sets aside to read the rest of a
// document with syntax errors.
const maxSyntaxErrors = 10

// decode reads the YAML document in data onto c and returns the lines of
// its options. A line with a syntax error is reported and set aside, and
// the rest of the document is read without it, so that the problems of
// every other option are found too; a syntax error without a line, or past
// maxSyntaxErrors, stops it with a *ValidationError. Unknown keys and values
// of the wrong type are added to p and decoding goes on. The lines are nil
// when a mapping holds a key twice: yaml drops the whole mapping, and
// validating what is left would only add false problems.
func decode(data []byte, c *Config, p *problems) (Lines, error) {
	data, root, err := readDocument(data, p)
	if err != nil || root == nil {
		return Lines{}, err
	}
	if root.Kind != yaml.MappingNode {
		return Lines{}, &ValidationError{Errors: append(p.errs, FieldError{Line: root.Line, Msg: "the document must be a mapping of options"})}
	}

	// Walk the tree first: it names unknown keys with their full path and
	// learns which line holds which option, to place yaml's type errors.
	w := newWalker(p)
	w.mapping(root, configType, "")

	strict := yaml.NewDecoder(bytes.NewReader(data))
	strict.KnownFields(true)
	err = strict.Decode(c)
	var te *yaml.TypeError
	if errors.As(err, &te) {
		for _, msg := range te.Errors {
			w.typeError(msg)
		}
	} else if err != nil {
		// The parser read the document; only its limits (aliasing) stop
		// the decoder, and then nothing found so far is reliable.
		return w.keys, &ValidationError{Errors: []FieldError{*syntaxProblem(err)}}
	}
	if w.duplicates > 0 {
		return nil, nil
	}
	return w.keys, nil
}

// readDocument parses data as one YAML document, setting aside (blanking)
// each line with a syntax error after reporting it in p. It returns the
// data as read and the document's root, nil for an empty document.
func readDocument(data []byte, p *problems) ([]byte, *yaml.Node, error) {
	for range maxSyntaxErrors + 1 {
		if len(bytes.TrimSpace(data)) == 0 {
			return data, nil, nil
		}
		root, err := parseOne(data)
		if err == nil {
			return data, root, nil
		}
		var fe *FieldError
		if !errors.As(err, &fe) {
			return data, nil, err
		}
		p.errs = append(p.errs, *fe)
		if fe.Line == 0 || !strings.HasPrefix(fe.Msg, "invalid YAML: ") {
			return data, nil, p.err()
		}
		data = blankLine(data, fe.Line)
	}
	p.addLine("", 0, fmt.Sprintf("more than %d lines with syntax errors: fix those first", maxSyntaxErrors))
	return data, nil, p.err()
}

// parseOne parses a document that must be alone in data. A problem of the
// document itself is a *FieldError.
func parseOne(data []byte) (*yaml.Node, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) { // only comments
			return nil, nil
		}
		return nil, syntaxProblem(err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, syntaxProblem(err)
		}
		return nil, &FieldError{Line: extra.Line, Msg: "the file must hold one YAML document, not several"}
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, nil
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" {
		return nil, nil
	}
	return root, nil
}

// blankLine replaces line n (1-based) of data by an empty line, keeping
// the numbers of the lines after it.
func blankLine(data []byte, n int) []byte {
	lines := bytes.SplitAfter(data, []byte("\n"))
	if n < 1 || n > len(lines) {
		return data
	}
	if bytes.HasSuffix(lines[n-1], []byte("\n")) {
		lines[n-1] = []byte("\n")
	} else {
		lines[n-1] = nil
	}
	return bytes.Join(lines, nil)
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
	if friendly := typeMessage(path, text); friendly != text {
		w.p.addLine(section, line, fmt.Sprintf("option '%s' %s", key, friendly))
		return
	}
	w.p.addLine(section, line, fmt.Sprintf("option '%s': %s", key, text))
}

var (
	unknownField = regexp.MustCompile(`^field .* not found in type `)
	duplicateKey = regexp.MustCompile(`^mapping key .* already defined at line `)
)

// syntaxProblem renders a YAML parser error with its line.
func syntaxProblem(err error) *FieldError {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &FieldError{Line: line, Msg: "invalid YAML: " + m[2]}
	}
	return &FieldError{Msg: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")}
}
