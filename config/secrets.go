package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Secret is a string that never prints: String, GoString, MarshalYAML,
// MarshalJSON and LogValue all give "[REDACTED]" (or "" when unset). Use
// Value to read it.
type Secret string

const redacted = "[REDACTED]"

// Value returns the secret itself.
func (s Secret) Value() string { return string(s) }

func (s Secret) mask() string {
	if s == "" {
		return ""
	}
	return redacted
}

// String implements fmt.Stringer, redacted.
func (s Secret) String() string { return s.mask() }

// GoString implements fmt.GoStringer, redacted.
func (s Secret) GoString() string { return fmt.Sprintf("%q", s.mask()) }

// MarshalYAML implements yaml.Marshaler, redacted.
func (s Secret) MarshalYAML() (any, error) { return s.mask(), nil }

// MarshalJSON implements json.Marshaler, redacted.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.mask()) }

// LogValue implements slog.LogValuer, redacted.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.mask()) }

// Redacted renders the effective configuration as YAML with every Secret
// replaced by "[REDACTED]", for check-config and debug logs.
func (c *Config) Redacted() ([]byte, error) {
	return yaml.Marshal(c)
}

var secretType = reflect.TypeOf(Secret(""))

// resolveSecrets reads every X_file option whose sibling X is a Secret
// (sessions.redis.password_file, registry.dsn_file,
// oidc.clients[].secret_file) into X. The pairing comes from the schema, so
// a Secret added later with its _file sibling is resolved too.
func (l Loader) resolveSecrets(c *Config, p *problems) {
	l.secretsIn(reflect.ValueOf(c).Elem(), "", p)
	l.resolveAdminToken(&c.Admin, p)
}

// resolveAdminToken reads admin.token_file, which has no inline sibling:
// the admin token may come from a file only.
func (l Loader) resolveAdminToken(a *Admin, p *problems) {
	if a.TokenFile == "" {
		return
	}
	tok, err := l.readSecret(a.TokenFile)
	switch {
	case err != nil:
		p.add("admin", "option 'token_file': %v", err)
	case len(tok) < MinAdminTokenLength || strings.ContainsAny(tok, " \t\r\n"):
		p.add("admin", "option 'token_file': the token in '%s' must be at least %d characters without spaces or line breaks", a.TokenFile, MinAdminTokenLength)
	default:
		a.Token = Secret(tok)
	}
}

func (l Loader) secretsIn(v reflect.Value, path string, p *problems) {
	t := v.Type()
	names := map[string]int{}
	fields := visibleFields(t)
	for i, f := range fields {
		names[yamlName(f)] = i
	}
	for _, f := range fields {
		name := yamlName(f)
		fv := v.FieldByIndex(f.Index)
		switch {
		case f.Type.Kind() == reflect.Struct && f.Type != durationType:
			l.secretsIn(fv, join(path, name), p)
		case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct:
			for i := 0; i < fv.Len(); i++ {
				l.secretsIn(fv.Index(i), fmt.Sprintf("%s[%d]", join(path, name), i), p)
			}
		case strings.HasSuffix(name, "_file") && f.Type.Kind() == reflect.String:
			base := strings.TrimSuffix(name, "_file")
			j, ok := names[base]
			if !ok || fields[j].Type != secretType {
				continue
			}
			file := fv.String()
			if file == "" {
				continue
			}
			target := v.FieldByIndex(fields[j].Index)
			if target.String() != "" {
				p.add(path, "options '%s' and '%s' are mutually exclusive", base, name)
				continue
			}
			secret, err := l.readSecret(file)
			if err != nil {
				p.add(path, "option '%s': %v", name, err)
				continue
			}
			target.SetString(secret)
		}
	}
}

// readSecret returns the content of a secret file less its trailing
// newlines. An empty secret is an error.
func (l Loader) readSecret(file string) (string, error) {
	data, err := l.readFile(file)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return "", fmt.Errorf("cannot read '%s': %v", file, err)
	}
	s := strings.TrimRight(string(data), "\r\n")
	if s == "" {
		return "", fmt.Errorf("file '%s' is empty", file)
	}
	return s, nil
}
