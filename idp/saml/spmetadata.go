package saml

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	crewjam "github.com/crewjam/saml"
)

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
	if len(signers) > 0 {
		verified, signed, err := verifyEnveloped(data, signers, now, true)
		if err != nil {
			return nil, fmt.Errorf("metadata signature: %w", err)
		}
		if !signed {
			return nil, fmt.Errorf("metadata signature: %w", ErrUnsigned)
		}
		data = verified
	}
	entity, validUntil, err := findEntity(data, entityID)
	if err != nil {
		return nil, err
	}
	if !entity.ValidUntil.IsZero() && (validUntil.IsZero() || entity.ValidUntil.Before(validUntil)) {
		validUntil = entity.ValidUntil
	}
	if !validUntil.IsZero() && !now.Before(validUntil) {
		return nil, fmt.Errorf("metadata expired at %s", validUntil.Format(time.RFC3339))
	}
	md := &spMetadata{entity: entity, validUntil: validUntil}
	for i := range entity.SPSSODescriptors {
		d := &entity.SPSSODescriptors[i]
		if strings.Contains(d.ProtocolSupportEnumeration, protocolSAML2) {
			md.sso = d
			break
		}
	}
	if md.sso == nil {
		return nil, errors.New("metadata has no SAML 2.0 SPSSODescriptor")
	}
	if err := keysOf(md.sso, md); err != nil {
		return nil, err
	}
	md.wantsSigned = md.sso.AuthnRequestsSigned != nil && *md.sso.AuthnRequestsSigned
	return md, nil
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
