package saml

import (
	"encoding/xml"
	"net/http"
	"sync"
	"time"

	"github.com/beevik/etree"
	crewjam "github.com/crewjam/saml"
)

// The published metadata is valid for metadataValidity and regenerated
// (and signed again) every metadataRefresh; SPs are told to fetch it again
// after metadataRefresh.
const (
	metadataValidity = 48 * time.Hour
	metadataRefresh  = time.Hour
)

// metadataCache keeps the signed metadata document between requests.
type metadataCache struct {
	mu  sync.Mutex
	doc []byte
	at  time.Time
}

// serveMetadata serves the identity provider's signed metadata.
func (p *IdP) serveMetadata(w http.ResponseWriter, r *http.Request) {
	doc, err := p.metadata()
	if err != nil {
		p.refuse(w, r, "internal", err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/samlmetadata+xml")
	h.Set("Cache-Control", "public, max-age=3600")
	h.Set("Access-Control-Allow-Origin", "*")
	_, _ = w.Write(doc)
}

// metadata returns the signed EntityDescriptor: the signing certificate,
// persistent and transient NameIDs, SSO and SLO over HTTP-Redirect and
// HTTP-POST. It publishes no encryption key: cnsgate accepts no encrypted
// requests.
func (p *IdP) metadata() ([]byte, error) {
	now := p.now().UTC()
	p.meta.mu.Lock()
	defer p.meta.mu.Unlock()
	if p.meta.doc != nil && !now.Before(p.meta.at) && now.Sub(p.meta.at) < metadataRefresh {
		return p.meta.doc, nil
	}
	ed := p.idp.Metadata()
	id, err := p.newID()
	if err != nil {
		return nil, err
	}
	ed.ID = id
	ed.ValidUntil = now.Add(metadataValidity)
	ed.CacheDuration = metadataRefresh
	d := &ed.IDPSSODescriptors[0]
	var signing []crewjam.KeyDescriptor
	for _, kd := range d.KeyDescriptors {
		if kd.Use == "signing" {
			signing = append(signing, kd)
		}
	}
	d.KeyDescriptors = signing
	d.NameIDFormats = []crewjam.NameIDFormat{crewjam.PersistentNameIDFormat, crewjam.TransientNameIDFormat}
	d.SingleLogoutServices = []crewjam.Endpoint{
		{Binding: crewjam.HTTPRedirectBinding, Location: p.issuer + PathSLO},
		{Binding: crewjam.HTTPPostBinding, Location: p.issuer + PathSLO},
	}
	raw, err := xml.Marshal(ed)
	if err != nil {
		return nil, err
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(raw); err != nil {
		return nil, err
	}
	if err := p.keys.sign(doc.Root()); err != nil {
		return nil, err
	}
	doc.CreateProcInst("xml", `version="1.0" encoding="UTF-8"`)
	doc.InsertChildAt(0, doc.Child[len(doc.Child)-1])
	out, err := doc.WriteToBytes()
	if err != nil {
		return nil, err
	}
	p.meta.doc, p.meta.at = out, now
	return out, nil
}
