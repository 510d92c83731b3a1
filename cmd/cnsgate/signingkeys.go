package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/cnsgate/cnsgate/config"
	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/idp/signer"
)

// signerSpec is the idp/signer Spec of a configured key.
func signerSpec(file string, p *config.PKCS11Key) signer.Spec {
	spec := signer.Spec{File: file}
	if p != nil {
		spec.PKCS11 = &signer.PKCS11Spec{Module: p.Module, TokenLabel: p.TokenLabel, Slot: p.Slot, PinFile: p.PinFile, KeyLabel: p.KeyLabel}
	}
	return spec
}

// openOIDCKeys opens the keys of oidc.keys (files and PKCS#11 keys) in
// their states. A PKCS#11 key logs in to its token the first time; a
// wrong PIN fails here, at start, before any listener.
func openOIDCKeys(c config.OIDC) ([]signer.Key, error) {
	keys := make([]signer.Key, 0, len(c.Keys))
	for i, k := range c.Keys {
		s, err := signer.Open(signerSpec(k.File, k.PKCS11), nil)
		if err != nil {
			return nil, fmt.Errorf("oidc.keys[%d]: %w", i, err)
		}
		state := signer.State(k.State)
		if state == "" {
			state = signer.StateActive
		}
		keys = append(keys, signer.Key{Signer: s, State: state, RetireAfter: k.RetireTime()})
	}
	return keys, nil
}

// reloadKeysAudited re-reads saml.next_cert_file, oidc.signing_keys and
// oidc.keys on SIGHUP and swaps them in; on any error the keys in use
// stay. The outcome is audited as config_reload, part keys.
func (g *gateway) reloadKeysAudited() {
	if g.protocols == nil || (g.protocols.op == nil && g.protocols.sp == nil) || g.cfgPath == "" {
		return
	}
	err := g.reloadKeys()
	ev := registry.Event{Kind: registry.KindConfigReload, Outcome: registry.OutcomeSuccess, Detail: []byte(`{"part":"keys"}`)}
	if err != nil {
		g.logger.Error("signing key reload refused; the keys in use stay", "err", err)
		ev.Outcome, ev.Reason = registry.OutcomeFailure, "invalid"
		ev.Detail, _ = json.Marshal(map[string]string{"part": "keys", "error": err.Error()})
	}
	g.svc.Audit(context.Background(), ev)
}

func (g *gateway) reloadKeys() error {
	cfg, err := config.Load(g.cfgPath)
	if err != nil {
		return err
	}
	if sp := g.protocols.sp; sp != nil {
		if err := sp.ReloadNextCert(cfg.SAML.NextCertFile); err != nil {
			return err
		}
		g.logger.Info("saml: next signing certificate reloaded", "next_cert_file", cfg.SAML.NextCertFile)
		if cfg.SAML.CertFile != g.cfg.SAML.CertFile || cfg.SAML.KeyFile != g.cfg.SAML.KeyFile {
			g.logger.Warn("saml: cert_file and key_file are read at start: restart cnsgate to sign with the new ones")
		}
	}
	if g.protocols.op == nil {
		return nil
	}
	keys, err := openOIDCKeys(cfg.OIDC)
	if err != nil {
		return err
	}
	return g.protocols.op.ReloadKeys(cfg.OIDC.SigningKeys, keys)
}
