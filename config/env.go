package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// EnvPrefix starts the name of every environment variable of the overlay.
const EnvPrefix = "CNSGATE_"

// EnvVar is one environment variable of the overlay.
type EnvVar struct {
	Name string // e.g. CNSGATE_SESSIONS_REDIS_ADDRS
	Path string // the option it sets, e.g. sessions.redis.addrs
	// Kind says how the value is read: "string", "bool", "int",
	// "duration" or "list" (comma-separated).
	Kind  string
	index []int
}

var (
	durationType    = reflect.TypeOf(Duration(0))
	stringSliceType = reflect.TypeOf([]string(nil))
)

// EnvVars lists every variable the overlay reads, in the order of the
// schema. The lists of structures (oidc.clients, saml.service_providers) and
// the maps (revocation.crl_urls) have none.
func EnvVars() []EnvVar {
	return envVars(configType, "", nil, nil)
}

func envVars(t reflect.Type, path string, index []int, out []EnvVar) []EnvVar {
	for _, f := range visibleFields(t) {
		p := join(path, yamlName(f))
		idx := append(append([]int(nil), index...), f.Index...)
		kind := envKind(f.Type)
		switch {
		case kind != "":
			name := EnvPrefix + strings.ToUpper(strings.ReplaceAll(p, ".", "_"))
			out = append(out, EnvVar{Name: name, Path: p, Kind: kind, index: idx})
		case f.Type.Kind() == reflect.Struct:
			out = envVars(f.Type, p, idx, out)
		}
	}
	return out
}

// envKind says how a field of type t is read from the environment, "" when
// it cannot be.
func envKind(t reflect.Type) string {
	switch {
	case t == durationType:
		return "duration"
	case t == stringSliceType:
		return "list"
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "bool"
	case reflect.Int, reflect.Int64:
		return "int"
	}
	return ""
}

// overlayEnv sets every option whose variable is set to a non-empty value.
// A value that does not parse is a problem naming the variable.
func (l Loader) overlayEnv(c *Config, p *problems) {
	if l.LookupEnv == nil {
		return
	}
	root := reflect.ValueOf(c).Elem()
	for _, ev := range EnvVars() {
		raw, ok := l.LookupEnv(ev.Name)
		if !ok || raw == "" {
			continue
		}
		if err := setEnv(root.FieldByIndex(ev.index), ev.Kind, raw); err != nil {
			section, key := split(ev.Path)
			p.add(section, "option '%s': environment variable %s: %v", key, ev.Name, err)
		}
	}
}

func setEnv(v reflect.Value, kind, raw string) error {
	switch kind {
	case "string":
		v.SetString(raw)
	case "list":
		var items []string
		for _, s := range strings.Split(raw, ",") {
			if s = strings.TrimSpace(s); s != "" {
				items = append(items, s)
			}
		}
		v.Set(reflect.ValueOf(items))
	case "bool":
		b, err := strconv.ParseBool(strings.TrimSpace(raw))
		if err != nil {
			return fmt.Errorf("'%s' is not a boolean (true or false)", raw)
		}
		v.SetBool(b)
	case "int":
		n, err := strconv.ParseInt(strings.TrimSpace(raw), 10, v.Type().Bits())
		if err != nil {
			return fmt.Errorf("'%s' is not an integer", raw)
		}
		v.SetInt(n)
	case "duration":
		d, err := parseDuration(strings.TrimSpace(raw))
		if err != nil {
			return err
		}
		v.SetInt(int64(d))
	}
	return nil
}
