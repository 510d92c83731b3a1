package config

import (
	"fmt"
	"time"
)

// validateKeys checks oidc.keys: each a file or a pkcs11 key, a known
// state, retire_after (RFC 3339) only on a retired key; and that some key
// signs when clients are configured.
func (o OIDC) validateKeys(p *problems) {
	active := len(o.SigningKeys)
	for i, k := range o.Keys {
		path := item("oidc.keys", i)
		k.validate(p, path)
		if k.State == "" || k.State == KeyActive {
			active++
		}
	}
	switch {
	case len(o.Clients) == 0 || active > 0:
	case len(o.Keys) == 0:
		p.add("oidc", "option 'signing_keys' is required when 'clients' are configured")
	default:
		p.add("oidc", "an active signing key is required when 'clients' are configured: an item of 'signing_keys', or of 'keys' in state 'active' (the default)")
	}
}

func (k SigningKey) validate(p *problems, path string) {
	switch {
	case k.File == "" && k.PKCS11 == nil:
		p.add(path, "one of the options 'file' or 'pkcs11' is required")
	case k.File != "" && k.PKCS11 != nil:
		p.add(path, "options 'file' and 'pkcs11' are mutually exclusive")
	case k.PKCS11 != nil:
		k.PKCS11.validate(p, join(path, "pkcs11"))
	}
	if k.State != "" {
		oneOf(p, path, "state", k.State, keyStates)
	}
	if k.RetireAfter != "" {
		if _, err := time.Parse(time.RFC3339, k.RetireAfter); err != nil {
			p.add(path, "option 'retire_after' must be an RFC 3339 time (2026-12-31T00:00:00Z) but it's configured as '%s'", k.RetireAfter)
		}
		if k.State != KeyRetired {
			p.add(path, "option 'retire_after' is only for a key in state 'retired'")
		}
	}
}

func (k *PKCS11Key) validate(p *problems, path string) {
	required(p, path, "module", k.Module)
	required(p, path, "pin_file", k.PinFile)
	required(p, path, "key_label", k.KeyLabel)
	if (k.TokenLabel == "") == (k.Slot == nil) {
		p.add(path, "exactly one of the options 'token_label' or 'slot' is required")
	}
	if k.Slot != nil && *k.Slot < 0 {
		p.add(path, "option 'slot' must not be negative but it's configured as '%d'", *k.Slot)
	}
}

// RetireTime is RetireAfter parsed (zero when unset or invalid: Validate
// reports it).
func (k SigningKey) RetireTime() time.Time {
	t, _ := time.Parse(time.RFC3339, k.RetireAfter)
	return t
}

// String names the key for messages: its file or token and label.
func (k SigningKey) String() string {
	if k.PKCS11 != nil {
		if k.PKCS11.Slot != nil {
			return fmt.Sprintf("pkcs11:slot=%d;object=%s", *k.PKCS11.Slot, k.PKCS11.KeyLabel)
		}
		return "pkcs11:token=" + k.PKCS11.TokenLabel + ";object=" + k.PKCS11.KeyLabel
	}
	return k.File
}
