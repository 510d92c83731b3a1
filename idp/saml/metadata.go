package saml

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/beevik/etree"
	crewjam "github.com/crewjam/saml"
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
	h.Set("Cache-Control", fmt.Sprintf("public, max-age=%d", int64(p.metaCache/time.Second)))
	h.Set("Access-Control-Allow-Origin", "*")
	_, _ = w.Write(doc)
}

// metadata returns the signed EntityDescriptor: the signing certificate,
// persistent and transient NameIDs, SSO and SLO over HTTP-Redirect and
// HTTP-POST, WantAuthnRequestsSigned. It publishes no encryption key:
// cnsgate accepts no encrypted requests.
//
// The document is valid for metaValid (30 days by default) from each
// regeneration, so that an SP that saved it once to a file (Shibboleth's
// path=, mod_auth_mellon) keeps starting; an SP that fetches it is told by
// cacheDuration (metaCache, 1 h) to fetch it again, and the document is
// regenerated and signed again as often.
func (p *IdP) metadata() ([]byte, error) {
	now := p.now().UTC()
	p.meta.mu.Lock()
	defer p.meta.mu.Unlock()
	if p.meta.doc != nil && !now.Before(p.meta.at) && now.Sub(p.meta.at) < p.metaCache {
		return p.meta.doc, nil
	}
	ed := p.idp.Metadata()
	id, err := p.newID()
	if err != nil {
		return nil, err
	}
	ed.ID = id
	ed.ValidUntil = now.Add(p.metaValid)
	ed.CacheDuration = p.metaCache
	d := &ed.IDPSSODescriptors[0]
	want := p.sps.allRequireSigned()
	d.WantAuthnRequestsSigned = &want
	var signing []crewjam.KeyDescriptor
	for _, kd := range d.KeyDescriptors {
		if kd.Use == "signing" {
			signing = append(signing, kd)
		}
	}
	if next := p.next.Load(); next != nil {
		// Two KeyDescriptor use="signing": an SP accepts either, and has
		// the next certificate when it starts signing.
		signing = append(signing, crewjam.KeyDescriptor{Use: "signing", KeyInfo: crewjam.KeyInfo{X509Data: crewjam.X509Data{
			X509Certificates: []crewjam.X509Certificate{{Data: base64.StdEncoding.EncodeToString(next.Raw)}},
		}}})
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

// maxMetadata caps an SP metadata document, read from a file or a URL.
const maxMetadata = 1 << 20

const protocolSAML2 = "urn:oasis:names:tc:SAML:2.0:protocol"

// parseSPMetadata reads the metadata of entityID: an EntityDescriptor, or
// an EntitiesDescriptor that holds it. When signers are given, the document
// must carry a valid signature by one of them over its root, and only the
// signed content is read.
func parseSPMetadata(data []byte, entityID string, signers []*x509.Certificate, now time.Time) (*spMetadata, error) {
	if len(data) > maxMetadata {
		return nil, fmt.Errorf("%w: metadata larger than %d bytes", ErrTooLarge, maxMetadata)
	}
	if err := checkXML(data); err != nil {
		return nil, err
	}
	data, err := verifiedMetadata(data, signers, now)
	if err != nil {
		return nil, err
	}
	entity, validUntil, err := findEntity(data, entityID)
	if err != nil {
		return nil, err
	}
	validUntil, err = metadataValidUntil(entity, validUntil, now)
	if err != nil {
		return nil, err
	}
	md := &spMetadata{entity: entity, validUntil: validUntil}
	md.sso = samlSSODescriptor(entity)
	if md.sso == nil {
		return nil, errors.New("metadata has no SAML 2.0 SPSSODescriptor")
	}
	if err := keysOf(md.sso, md); err != nil {
		return nil, err
	}
	md.wantsSigned = md.sso.AuthnRequestsSigned != nil && *md.sso.AuthnRequestsSigned
	return md, nil
}

// verifiedMetadata returns what the signature of one of signers covers,
// or data itself when no signer is configured.
func verifiedMetadata(data []byte, signers []*x509.Certificate, now time.Time) ([]byte, error) {
	if len(signers) == 0 {
		return data, nil
	}
	verified, signed, err := verifyEnveloped(data, signers, now, true)
	if err != nil {
		return nil, fmt.Errorf("metadata signature: %w", err)
	}
	if !signed {
		return nil, fmt.Errorf("metadata signature: %w", ErrUnsigned)
	}
	return verified, nil
}

// metadataValidUntil is the earlier of the entity's validUntil and its
// enclosing document's; metadata past it is refused.
func metadataValidUntil(entity *crewjam.EntityDescriptor, validUntil, now time.Time) (time.Time, error) {
	if !entity.ValidUntil.IsZero() && (validUntil.IsZero() || entity.ValidUntil.Before(validUntil)) {
		validUntil = entity.ValidUntil
	}
	if !validUntil.IsZero() && !now.Before(validUntil) {
		return time.Time{}, fmt.Errorf("metadata expired at %s", validUntil.Format(time.RFC3339))
	}
	return validUntil, nil
}

// samlSSODescriptor is the entity's first SPSSODescriptor for SAML 2.0.
func samlSSODescriptor(entity *crewjam.EntityDescriptor) *crewjam.SPSSODescriptor {
	for i := range entity.SPSSODescriptors {
		d := &entity.SPSSODescriptors[i]
		if strings.Contains(d.ProtocolSupportEnumeration, protocolSAML2) {
			return d
		}
	}
	return nil
}

// findEntity returns the EntityDescriptor of entityID in data and the
// validUntil of the aggregate around it, if any.
func findEntity(data []byte, entityID string) (*crewjam.EntityDescriptor, time.Time, error) {
	root, err := rootName(data)
	if err != nil {
		return nil, time.Time{}, err
	}
	switch root {
	case xml.Name{Space: "urn:oasis:names:tc:SAML:2.0:metadata", Local: "EntityDescriptor"}:
		var e crewjam.EntityDescriptor
		if err := xml.Unmarshal(data, &e); err != nil {
			return nil, time.Time{}, fmt.Errorf("%w: metadata: %v", ErrMalformed, err)
		}
		if e.EntityID != entityID {
			return nil, time.Time{}, fmt.Errorf("metadata is for %q, not %q", e.EntityID, entityID)
		}
		return &e, time.Time{}, nil
	case xml.Name{Space: "urn:oasis:names:tc:SAML:2.0:metadata", Local: "EntitiesDescriptor"}:
		var agg crewjam.EntitiesDescriptor
		if err := xml.Unmarshal(data, &agg); err != nil {
			return nil, time.Time{}, fmt.Errorf("%w: metadata: %v", ErrMalformed, err)
		}
		var until time.Time
		if agg.ValidUntil != nil {
			until = *agg.ValidUntil
		}
		if e := searchEntities(&agg, entityID); e != nil {
			return e, until, nil
		}
		return nil, time.Time{}, fmt.Errorf("metadata aggregate does not describe %q", entityID)
	}
	return nil, time.Time{}, fmt.Errorf("%w: metadata root is %s", ErrMalformed, root.Local)
}

func searchEntities(agg *crewjam.EntitiesDescriptor, entityID string) *crewjam.EntityDescriptor {
	for i := range agg.EntityDescriptors {
		if agg.EntityDescriptors[i].EntityID == entityID {
			return &agg.EntityDescriptors[i]
		}
	}
	for i := range agg.EntitiesDescriptors {
		if e := searchEntities(&agg.EntitiesDescriptors[i], entityID); e != nil {
			return e
		}
	}
	return nil
}

// rootName returns the name of the document's root element.
func rootName(data []byte) (xml.Name, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := d.Token()
		if err != nil {
			return xml.Name{}, fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			return se.Name, nil
		}
	}
}

// remote reports whether any SP has its metadata at a URL.
func (ps *providers) remote() bool {
	for _, sp := range ps.byID {
		if sp.cfg.MetadataURL != "" {
			return true
		}
	}
	return false
}

// refreshAll fetches every metadata_url once; a failure keeps the last good
// metadata (lookup refuses it past its validUntil). It returns the number
// of failures.
func (ps *providers) refreshAll(stop <-chan struct{}) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if stop != nil {
		go func() {
			select {
			case <-stop:
				cancel()
			case <-ctx.Done():
			}
		}()
	}
	failed := 0
	for _, sp := range ps.byID {
		if sp.cfg.MetadataURL == "" {
			continue
		}
		if err := ps.fetch(ctx, sp); err != nil {
			failed++
			ps.deps.logger.Error("saml metadata not refreshed", "sp", sp.cfg.EntityID, "url", sp.cfg.MetadataURL, "err", err)
		}
	}
	return failed
}

func (ps *providers) fetch(ctx context.Context, sp *serviceProvider) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, sp.cfg.MetadataURL, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/samlmetadata+xml, application/xml;q=0.9, text/xml;q=0.8")
	resp, err := ps.deps.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("metadata_url answered %s", resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxMetadata+1))
	if err != nil {
		return err
	}
	md, err := parseSPMetadata(data, sp.cfg.EntityID, sp.signers, ps.deps.now())
	if err != nil {
		return err
	}
	sp.meta.Store(md)
	return nil
}

// refreshLoop refreshes the remote metadata every deps.refresh, or after
// min(deps.refresh, 1 min) while a fetch fails, until stop is closed.
func (ps *providers) refreshLoop(stop <-chan struct{}, failed int) {
	for {
		wait := ps.deps.refresh
		if failed > 0 {
			wait = min(wait, time.Minute)
		}
		t := time.NewTimer(wait)
		select {
		case <-stop:
			t.Stop()
			return
		case <-t.C:
		}
		failed = ps.refreshAll(stop)
	}
}
