package saml

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/beevik/etree"
	crewjam "github.com/crewjam/saml"
	"github.com/crewjam/saml/xmlenc"
)

// Block ciphers for assertion encryption. AES-GCM is preferred whenever
// the SP lists it among its EncryptionMethods (CBC in XML Encryption is
// open to padding-oracle attacks on SPs that report decryption errors);
// otherwise AES-256-CBC, what every SP implements. crewjam's own GCM
// encrypter is unusable (it seals zeros under a nil nonce), so GCM is here.
const (
	algAES128GCM = "http://www.w3.org/2009/xmlenc11#aes128-gcm"
	algAES256GCM = "http://www.w3.org/2009/xmlenc11#aes256-gcm"
	algAES128CBC = "http://www.w3.org/2001/04/xmlenc#aes128-cbc"
	algAES256CBC = "http://www.w3.org/2001/04/xmlenc#aes256-cbc"
)

// blockCipher picks the data-encryption algorithm from the SP's list.
func blockCipher(listed []string) xmlenc.BlockCipher {
	switch {
	case slices.Contains(listed, algAES256GCM):
		return gcm{keySize: 32, alg: algAES256GCM}
	case slices.Contains(listed, algAES128GCM):
		return gcm{keySize: 16, alg: algAES128GCM}
	case slices.Contains(listed, algAES256CBC) || !slices.Contains(listed, algAES128CBC):
		return xmlenc.AES256CBC
	default:
		return xmlenc.AES128CBC
	}
}

// sealAssertion signs req.Assertion and, when the SP publishes an
// encryption key, encrypts it to that key (sign, then encrypt): the result
// is req.AssertionEl. Key transport is RSA-OAEP (rsa-oaep-mgf1p with its
// default SHA-1 digest: OAEP needs no collision resistance, and it is what
// every SP decrypts).
func (p *IdP) sealAssertion(req *crewjam.IdpAuthnRequest, md *spMetadata) error {
	el := req.Assertion.Element()
	if err := p.keys.sign(el); err != nil {
		return fmt.Errorf("saml: signing the assertion: %w", err)
	}
	if md.encryption == nil {
		req.AssertionEl = el
		return nil
	}
	doc := etree.NewDocument()
	doc.SetRoot(el)
	plain, err := doc.WriteToBytes()
	if err != nil {
		return err
	}
	enc := xmlenc.OAEP()
	enc.BlockCipher = blockCipher(md.encMethods)
	enc.DigestMethod = &xmlenc.SHA1
	data, err := enc.Encrypt(md.encryption, plain, nil)
	if err != nil {
		return fmt.Errorf("saml: encrypting the assertion: %w", err)
	}
	data.CreateAttr("Type", "http://www.w3.org/2001/04/xmlenc#Element")
	ea := etree.NewElement("saml:EncryptedAssertion")
	ea.CreateAttr("xmlns:saml", "urn:oasis:names:tc:SAML:2.0:assertion")
	ea.AddChild(data)
	req.AssertionEl = ea
	return nil
}

// gcm is AES-GCM as XML Encryption 1.1 writes it: CipherValue is the
// 12-byte IV, the ciphertext and the 16-byte tag.
type gcm struct {
	keySize int
	alg     string
}

func (g gcm) KeySize() int      { return g.keySize }
func (g gcm) Algorithm() string { return g.alg }

// Encrypt implements xmlenc.Encrypter; key is the []byte content key. The
// nonce argument is ignored: every message gets a fresh random IV.
func (g gcm) Encrypt(key any, plaintext []byte, _ []byte) (*etree.Element, error) {
	k, ok := key.([]byte)
	if !ok || len(k) != g.keySize {
		return nil, errors.New("saml: AES-GCM needs a content key of the right size")
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	iv := make([]byte, aead.NonceSize())
	if _, err := io.ReadFull(xmlenc.RandReader, iv); err != nil {
		return nil, err
	}
	sealed := aead.Seal(iv, iv, plaintext, nil)
	el := etree.NewElement("xenc:EncryptedData")
	el.CreateAttr("xmlns:xenc", "http://www.w3.org/2001/04/xmlenc#")
	em := el.CreateElement("xenc:EncryptionMethod")
	em.CreateAttr("Algorithm", g.alg)
	cd := el.CreateElement("xenc:CipherData")
	cd.CreateElement("xenc:CipherValue").SetText(base64.StdEncoding.EncodeToString(sealed))
	return el, nil
}

// Decrypt implements xmlenc.Decrypter (the tests' round trip): key is the
// content key, or the RSA key that opens the EncryptedKey in KeyInfo.
func (g gcm) Decrypt(key any, el *etree.Element) ([]byte, error) {
	if ek := el.FindElement("./KeyInfo/EncryptedKey"); ek != nil {
		var err error
		if key, err = xmlenc.Decrypt(key, ek); err != nil {
			return nil, err
		}
	}
	k, ok := key.([]byte)
	if !ok || len(k) != g.keySize {
		return nil, errors.New("saml: AES-GCM needs a content key of the right size")
	}
	cv := el.FindElement("./CipherData/CipherValue")
	if cv == nil {
		return nil, errors.New("saml: no CipherValue")
	}
	sealed, err := base64.StdEncoding.DecodeString(cv.Text())
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	if len(sealed) < aead.NonceSize()+aead.Overhead() {
		return nil, errors.New("saml: short AES-GCM ciphertext")
	}
	return aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], nil)
}
