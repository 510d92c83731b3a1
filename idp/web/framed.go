package web

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"sync"
)

// maxFrames bounds the frames a Pages keeps: a frame is one page in one
// language for one relying party, so a few hundred cover every service of a
// deployment; past the bound pages are rendered in full, as before.
const maxFrames = 512

// A frame is a page rendered once with markers in place of its per-request
// values: the bytes between them, and how each value is escaped where it
// goes.
type frame struct {
	parts [][]byte // len(slots)+1 pieces of the page
	slots []*template.Template
}

// frames is a Pages' cache of frames, filled on first use.
type frames struct {
	mu sync.RWMutex
	m  map[string]*frame
	// marker starts every marker: random, so that no value nor text of a
	// page can contain one by chance.
	marker string
}

func newFrames() *frames {
	b := make([]byte, 12)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return &frames{m: make(map[string]*frame), marker: "cgslot" + hex.EncodeToString(b) + "x"}
}

// The escapers a marker may stand in: the contexts html/template gives a
// value in the pages, each in a template of its own that puts the value in
// the same context, so that a spliced value is escaped byte for byte as
// the whole page's rendering would.
var (
	slotText = template.Must(template.New("").Parse(`<p>{{.}}</p>`))
	slotHref = template.Must(template.New("").Parse(`<a href="{{.}}">`))
)

// slotContexts maps what surrounds a marker in a rendered page to the
// template that escapes a value there and the prefix and suffix that
// template wraps around it.
var slotContexts = []struct {
	before, after string
	t             *template.Template
	prefix        string
	suffix        string
}{
	{`href="`, `"`, slotHref, `<a href="`, `">`},
	{`>`, `<`, slotText, `<p>`, `</p>`},
}

// RenderFramed writes page name like Render, with data(values) as its data,
// from a frame kept per name and key: the page is rendered once with
// markers for values, and then each request's values are escaped and
// spliced into it. The output is the same bytes Render writes.
//
// key must name everything else the page shows (language, relying party);
// values are strings the page only prints, each once, as an attribute href
// or as text: whether a value is empty is part of the frame, since the
// templates test it. A page that breaks these rules, or a full cache, is
// rendered in full.
func (p *Pages) RenderFramed(w http.ResponseWriter, status int, name, key string, values []string, data func(values []string) any) error {
	buf := renderBuffers.Get().(*bytes.Buffer)
	defer putRenderBuffer(buf)
	f := p.frame(name, key, values, data)
	if f == nil {
		if err := p.t.ExecuteTemplate(buf, name, data(values)); err != nil {
			http.Error(w, "Errore interno / Internal error", http.StatusInternalServerError)
			return fmt.Errorf("web: render %s: %w", name, err)
		}
	} else if err := f.splice(buf, values); err != nil {
		http.Error(w, "Errore interno / Internal error", http.StatusInternalServerError)
		return fmt.Errorf("web: render %s: %w", name, err)
	}
	return p.write(w, status, buf)
}

// frame returns the frame of name and key for values, building it on first
// use, or nil when the page is to be rendered in full.
func (p *Pages) frame(name, key string, values []string, data func([]string) any) *frame {
	var k strings.Builder
	k.Grow(len(name) + len(key) + len(values) + 2)
	k.WriteString(name)
	k.WriteByte(0)
	k.WriteString(key)
	k.WriteByte(0)
	for _, v := range values {
		if v == "" {
			k.WriteByte('0')
		} else {
			k.WriteByte('1')
		}
	}
	fs := p.frames
	fs.mu.RLock()
	f, ok := fs.m[k.String()]
	n := len(fs.m)
	fs.mu.RUnlock()
	if ok || n >= maxFrames {
		return f
	}
	f = fs.build(p.t, name, values, data)
	fs.mu.Lock()
	if len(fs.m) < maxFrames {
		fs.m[k.String()] = f // nil too: that page is not framed
	}
	fs.mu.Unlock()
	return f
}

// build renders name with a marker for each non-empty value and cuts the
// page at the markers; nil when a marker is out of order, repeated or in a
// context without an escaper here, or when a probe shows that splicing
// would not give the page's own bytes.
func (fs *frames) build(t *template.Template, name string, values []string, data func([]string) any) *frame {
	markers := make([]string, len(values))
	for i, v := range values {
		if v != "" {
			markers[i] = fmt.Sprintf("%s%dx", fs.marker, i)
		}
	}
	var page bytes.Buffer
	if err := t.ExecuteTemplate(&page, name, data(markers)); err != nil {
		return nil
	}
	rest := page.String()
	f := &frame{slots: make([]*template.Template, len(values))}
	for i, m := range markers {
		if m == "" {
			continue
		}
		at := strings.Index(rest, m)
		if at < 0 {
			if strings.Contains(page.String(), m) {
				return nil // out of order: each part must precede the next
			}
			continue // not shown on this page
		}
		if strings.Contains(rest[at+len(m):], m) {
			return nil
		}
		before, after := rest[:at], rest[at+len(m):]
		slot := -1
		for j, c := range slotContexts {
			if strings.HasSuffix(before, c.before) && strings.HasPrefix(after, c.after) {
				slot = j
				break
			}
		}
		if slot < 0 {
			return nil
		}
		f.parts = append(f.parts, []byte(before))
		f.slots[i] = slotContexts[slot].t
		rest = after
	}
	f.parts = append(f.parts, []byte(rest))
	if !fs.proven(t, name, f, markers, data) {
		return nil
	}
	return f
}

// slotProbe is what proven adds to each marker: the characters the
// contexts of a page escape differently (HTML text, attribute, URL,
// script), so that a marker in a context unlike its slot's is caught.
const slotProbe = " <&\"'+=`é/?#%\\\x00"

// proven renders the page once more with a probe after each marker and
// checks that splicing the same values into f gives the same bytes.
func (fs *frames) proven(t *template.Template, name string, f *frame, markers []string, data func([]string) any) bool {
	probes := make([]string, len(markers))
	for i, m := range markers {
		if m != "" {
			probes[i] = m + slotProbe
		}
	}
	var want, got bytes.Buffer
	if err := t.ExecuteTemplate(&want, name, data(probes)); err != nil {
		return false
	}
	if err := f.splice(&got, probes); err != nil {
		return false
	}
	return bytes.Equal(want.Bytes(), got.Bytes())
}

// splice writes the page with values escaped into its slots.
func (f *frame) splice(buf *bytes.Buffer, values []string) error {
	part := 0
	buf.Write(f.parts[part])
	var v bytes.Buffer
	for i, t := range f.slots {
		if t == nil {
			continue
		}
		if s, ok := plainEscape(t, values[i]); ok {
			buf.WriteString(s)
			part++
			buf.Write(f.parts[part])
			continue
		}
		v.Reset()
		if err := t.Execute(&v, values[i]); err != nil {
			return err
		}
		c := slotContextOf(t)
		b := v.Bytes()
		if !bytes.HasPrefix(b, []byte(c.prefix)) || !bytes.HasSuffix(b, []byte(c.suffix)) {
			return fmt.Errorf("slot %d escaped out of its context", i)
		}
		buf.Write(b[len(c.prefix) : len(b)-len(c.suffix)])
		part++
		buf.Write(f.parts[part])
	}
	return nil
}

func slotContextOf(t *template.Template) (c struct{ prefix, suffix string }) {
	for _, s := range slotContexts {
		if s.t == t {
			c.prefix, c.suffix = s.prefix, s.suffix
		}
	}
	return c
}

// plainEscape is the escaping of the common values without running a
// template: a value whose characters no escaper of slot t changes (and,
// for an href, a relative or http(s) URL that the URL filter lets
// through), with '&' written "&amp;" in an href. ok is false for any other
// value, which t escapes. TestPlainEscape checks it against t.
func plainEscape(t *template.Template, v string) (string, bool) {
	href := t == slotHref
	amps, ok := plainChars(v, href)
	if !ok {
		return "", false
	}
	if href {
		if scheme, _, ok := strings.Cut(v, ":"); ok && !strings.Contains(scheme, "/") &&
			!strings.EqualFold(scheme, "https") && !strings.EqualFold(scheme, "http") {
			return "", false
		}
		if amps > 0 {
			return strings.ReplaceAll(v, "&", "&amp;"), true
		}
	}
	return v, true
}

// plainChars reports whether v is made of letters, digits and "-._~/?=#,;@"
// only, with ':' and '&' too in an href, and how many '&' it has.
func plainChars(v string, href bool) (amps int, ok bool) {
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("-._~/?=#,;@", c) >= 0:
		case c == ':' && href:
		case c == '&' && href:
			amps++
		default:
			return 0, false
		}
	}
	return amps, true
}
