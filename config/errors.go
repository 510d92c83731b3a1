package config

import (
	"fmt"
	"strings"
)

// FieldError is one problem of the configuration.
type FieldError struct {
	// Path locates the section in the file, dot-separated with list
	// indexes: "sessions.redis", "oidc.clients[1]"; "" for the top level.
	Path string
	// Line is the line of the file the problem was found at, 0 when it
	// comes from validation or the environment.
	Line int
	// Msg names the option and says what is wrong, e.g.
	// "option 'addrs' is required when store is 'redis'".
	Msg string
}

// Error renders the problem in the authelia style, the path's segments
// each followed by ": ", then the message, then the line if known:
//
//	sessions: redis: option 'addrs' is required when store is 'redis'
//	listen: option 'pubic' is unknown (line 4)
func (e FieldError) Error() string {
	var b strings.Builder
	if e.Path != "" {
		b.WriteString(strings.ReplaceAll(e.Path, ".", ": "))
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	if e.Line > 0 {
		fmt.Fprintf(&b, " (line %d)", e.Line)
	}
	return b.String()
}

// ValidationError holds every problem found in a configuration. Load, Parse
// and Validate return it (as *ValidationError) for anything wrong with the
// content; errors.As finds it.
type ValidationError struct {
	Errors []FieldError
}

// Error joins the problems with newlines.
func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Errors))
	for i, fe := range e.Errors {
		lines[i] = fe.Error()
	}
	return strings.Join(lines, "\n")
}

// Strings returns each problem rendered as by FieldError.Error.
func (e *ValidationError) Strings() []string {
	out := make([]string, len(e.Errors))
	for i, fe := range e.Errors {
		out[i] = fe.Error()
	}
	return out
}

// problems collects FieldErrors.
type problems struct {
	errs []FieldError
}

func (p *problems) add(path, format string, args ...any) {
	p.errs = append(p.errs, FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (p *problems) addLine(path string, line int, msg string) {
	p.errs = append(p.errs, FieldError{Path: path, Line: line, Msg: msg})
}

// err returns nil or a *ValidationError (never a typed nil in an error).
func (p *problems) err() error {
	if len(p.errs) == 0 {
		return nil
	}
	return &ValidationError{Errors: p.errs}
}

// join builds a dotted path from a parent and a child segment.
func join(parent, child string) string {
	if parent == "" {
		return child
	}
	return parent + "." + child
}

// split divides a dotted key path into its section and its last key:
// "sessions.redis.addrs" gives "sessions.redis" and "addrs".
func split(path string) (section, key string) {
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[:i], path[i+1:]
	}
	return "", path
}
