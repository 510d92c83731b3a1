package revocation

import (
	"bytes"
	"crypto"
	"encoding/asn1"
	"math/big"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"
)

// TestBuildOCSPRequest: our requests read back with x/crypto/ocsp, and the
// nonce is where RFC 8954 puts it.
func TestBuildOCSPRequest(t *testing.T) {
	e := newEnv(t)
	leaf := e.card(t)
	for _, tc := range []struct {
		name  string
		hash  crypto.Hash
		nonce []byte
	}{
		{"ok/sha1", crypto.SHA1, nil},
		{"ok/sha256-nonce", crypto.SHA256, bytes.Repeat([]byte{7}, 32)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			der, err := buildOCSPRequest(e.ca.Cert, leaf.SerialNumber, tc.hash, tc.nonce)
			if err != nil {
				t.Fatal(err)
			}
			req, err := ocsp.ParseRequest(der)
			if err != nil {
				t.Fatal(err)
			}
			name, key, _ := issuerHashes(e.ca.Cert, tc.hash)
			if req.HashAlgorithm != tc.hash || req.SerialNumber.Cmp(leaf.SerialNumber) != 0 ||
				!bytes.Equal(req.IssuerNameHash, name) || !bytes.Equal(req.IssuerKeyHash, key) {
				t.Fatalf("request %+v", req)
			}
			want, _ := asn1.Marshal(tc.nonce)
			if tc.nonce != nil && !bytes.Contains(der, want) {
				t.Fatal("nonce missing")
			}
		})
	}
}

// FuzzParseOCSPResponse: no input panics, and where x/crypto/ocsp also
// reads a single-answer response, both read the same answer.
func FuzzParseOCSPResponse(f *testing.F) {
	e := newEnv(f)
	now := e.clock.Now().Truncate(time.Second)
	for _, status := range []int{ocsp.Good, ocsp.Revoked, ocsp.Unknown} {
		der, err := ocsp.CreateResponse(e.ca.Cert, e.ca.Cert, ocsp.Response{
			Status: status, SerialNumber: big.NewInt(99), ThisUpdate: now, NextUpdate: now.Add(time.Hour),
			RevokedAt: now.Add(-time.Hour), RevocationReason: ocsp.KeyCompromise,
		}, e.ca.Key)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(der)
	}
	f.Add([]byte{0x30, 0x03, 0x0a, 0x01, 0x03}) // tryLater
	f.Fuzz(func(t *testing.T, der []byte) {
		r, err := parseOCSPResponse(der)
		if err != nil || r.status != 0 || len(r.singles) != 1 {
			return
		}
		x, err := ocsp.ParseResponse(der, nil)
		if err != nil {
			return
		}
		s := r.singles[0]
		if s.serial.Cmp(x.SerialNumber) != 0 || s.status != x.Status || !s.thisUpdate.Equal(x.ThisUpdate) ||
			!s.nextUpdate.Equal(x.NextUpdate) || s.status == certRevoked && !s.revokedAt.Equal(x.RevokedAt) {
			t.Fatalf("ours %+v, x/crypto %+v", s, x)
		}
	})
}
