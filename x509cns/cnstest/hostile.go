package cnstest

import (
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"time"
)

// SelfIssuedChain mints the hostile chain of an outside review: a card
// followed by n self-issued intermediates, every one of them named like
// ca (subject = issuer = ca's subject, byte for byte, and no Authority Key
// Identifier), so that each is a candidate issuer of the card, of every
// other intermediate and, by name, of ca itself. Intermediate i is signed
// by the key of intermediate i+1 and the last one by its own key; the card
// is signed by the first. ca never signs anything: the chain cannot
// verify, and a validator that explores every path spends a signature check
// per edge. The card is the ordinary card profile of opts.
func (ca *CA) SelfIssuedChain(n int, opts CardOptions) (*Card, error) {
	if n < 1 {
		return nil, fmt.Errorf("cnstest: a self-issued chain needs at least one intermediate")
	}
	keys := make([]*rsa.PrivateKey, n)
	for i := range keys {
		k, err := SharedKey(2048, i)
		if err != nil {
			return nil, err
		}
		keys[i] = k
	}
	name := ca.Cert.RawSubject
	chain := make([]*x509.Certificate, n)
	for i := n - 1; i >= 0; i-- {
		signer := keys[i]
		if i+1 < n {
			signer = keys[i+1]
		}
		tpl := &x509.Certificate{
			RawSubject: name, NotBefore: ca.Now().Add(-time.Hour), NotAfter: ca.Now().AddDate(1, 0, 0),
			IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
			SubjectKeyId: []byte{byte(i + 1)},
		}
		cert, err := signAs(ca, tpl, &keys[i].PublicKey, name, signer)
		if err != nil {
			return nil, err
		}
		chain[i] = cert
	}
	card := &Card{CA: ca, Chain: chain, FiscalCode: opts.FiscalCode, CardID: opts.CardID}
	if err := ca.fillCardIdentity(card, opts); err != nil {
		return nil, err
	}
	key, err := cardKey(opts, 0)
	if err != nil {
		return nil, err
	}
	card.Key = key
	tpl, err := ca.cardTemplate(opts)
	if err != nil {
		return nil, err
	}
	tpl.Subject = ca.cardSubject(card, opts)
	if card.Cert, err = signAs(ca, tpl, &key.PublicKey, name, keys[0]); err != nil {
		return nil, err
	}
	return card, nil
}

// signAs signs tpl for pub with key under the issuer name rawIssuer, with
// no Authority Key Identifier, ca's randomness and a random serial.
func signAs(ca *CA, tpl *x509.Certificate, pub *rsa.PublicKey, rawIssuer []byte, key *rsa.PrivateKey) (*x509.Certificate, error) {
	serial, err := randomSerial(ca.Rand)
	if err != nil {
		return nil, err
	}
	tpl.SerialNumber = serial
	tpl.SignatureAlgorithm = x509.SHA256WithRSA
	parent := &x509.Certificate{RawSubject: rawIssuer}
	der, err := x509.CreateCertificate(ca.Rand, tpl, parent, pub, key)
	if err != nil {
		return nil, fmt.Errorf("cnstest: self-issued certificate: %w", err)
	}
	return x509.ParseCertificate(der)
}
