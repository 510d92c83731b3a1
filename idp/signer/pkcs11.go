//go:build cgo

package signer

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/ThalesGroup/crypto11"
)

// PKCS11Available reports whether this build can open PKCS#11 keys.
const PKCS11Available = true

// pkcs11Key is a private key kept in a PKCS#11 token: it signs there.
type pkcs11Key struct {
	described
	key crypto11.Signer
}

func (k *pkcs11Key) Public() crypto.PublicKey { return k.key.Public() }

func (k *pkcs11Key) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return k.key.Sign(rand, digest, opts)
}

func (k *pkcs11Key) Raw() crypto.Signer { return k }

// contexts are the open tokens, one per module and token: logged in
// once and kept for the life of the process, so that a reload reuses them.
var contexts = struct {
	sync.Mutex
	m map[string]*openToken
}{m: map[string]*openToken{}}

// openToken is a logged-in token and the SHA-256 of the PIN it took.
type openToken struct {
	ctx *crypto11.Context
	pin [sha256.Size]byte
}

// openPKCS11 logs in to the token of s (once) and finds its key pair.
func openPKCS11(s PKCS11Spec, readFile func(string) ([]byte, error)) (Signer, error) {
	source := s.describe()
	if s.Module == "" || s.KeyLabel == "" || s.PinFile == "" {
		return nil, fmt.Errorf("%w: %s: pkcs11 needs module, pin_file and key_label", ErrBadKey, source)
	}
	if (s.TokenLabel == "") == (s.Slot == nil) {
		return nil, fmt.Errorf("%w: %s: pkcs11 needs exactly one of token_label and slot", ErrBadKey, source)
	}
	if readFile == nil {
		readFile = os.ReadFile
	}
	pin, err := readFile(s.PinFile)
	if err != nil {
		return nil, fmt.Errorf("signer: %s: pin_file: %w", source, err)
	}
	pin = bytes.TrimRight(pin, "\r\n")
	ctx, err := tokenContext(s, string(pin))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrBadKey, source, err)
	}
	key, err := ctx.FindKeyPair(nil, []byte(s.KeyLabel))
	if err != nil || key == nil {
		return nil, fmt.Errorf("%w: %s: no key pair labelled %q in the token", ErrBadKey, source, s.KeyLabel)
	}
	d, err := describe(key.Public(), source)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	return &pkcs11Key{described: d, key: key}, nil
}

// tokenContext returns the open context of s's token, logging in with pin
// the first time. A wrong PIN fails here (CKR_PIN_INCORRECT), and the
// failure is not kept: the next attempt logs in again.
func tokenContext(s PKCS11Spec, pin string) (*crypto11.Context, error) {
	sum := sha256.Sum256([]byte(pin))
	id := s.Module + "\x00" + s.TokenLabel + "\x00" + s.slotString()
	contexts.Lock()
	defer contexts.Unlock()
	if c := contexts.m[id]; c != nil {
		// A token is logged in once per process: C_Login again would not
		// check the PIN (CKR_USER_ALREADY_LOGGED_IN).
		if subtle.ConstantTimeCompare(c.pin[:], sum[:]) != 1 {
			return nil, errors.New("pin_file holds another PIN than the one the token was logged in with (a wrong PIN, or a changed one: restart cnsgate to log in with it)")
		}
		return c.ctx, nil
	}
	ctx, err := crypto11.Configure(&crypto11.Config{Path: s.Module, TokenLabel: s.TokenLabel, SlotNumber: s.Slot, Pin: pin})
	if err != nil {
		if strings.Contains(err.Error(), "CKR_PIN_INCORRECT") {
			return nil, fmt.Errorf("the token refused the PIN of pin_file (CKR_PIN_INCORRECT): %w", err)
		}
		return nil, fmt.Errorf("cannot log in to the token: %w", err)
	}
	contexts.m[id] = &openToken{ctx: ctx, pin: sum}
	return ctx, nil
}

func (s PKCS11Spec) slotString() string {
	if s.Slot == nil {
		return ""
	}
	return strconv.Itoa(*s.Slot)
}
