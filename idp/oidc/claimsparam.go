package oidc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// requestedClaims are the claims about the citizen a relying party asked
// for by name with the claims parameter (OpenID Connect Core 5.5), by
// where it wants them. Only names cnsgate releases are kept; the others
// are ignored, as 5.5 says. Whether each is released is decided at issue
// time by the client's scopes (userClaims).
type requestedClaims struct {
	IDToken  []string `json:"id_token,omitempty"`
	Userinfo []string `json:"userinfo,omitempty"`
}

func (rc *requestedClaims) idToken() []string {
	if rc == nil {
		return nil
	}
	return rc.IDToken
}

func (rc *requestedClaims) userinfo() []string {
	if rc == nil {
		return nil
	}
	return rc.Userinfo
}

// parseClaimsParam reads the claims parameter: a JSON object whose members
// userinfo and id_token, when present, are objects mapping claim names to
// null or to an object of essential (boolean), value, values (array). It
// returns nil when raw is empty or names no claim cnsgate releases, and a
// precise reason when raw is not such an object.
func parseClaimsParam(raw string) (*requestedClaims, error) {
	if raw == "" {
		return nil, nil
	}
	var top map[string]json.RawMessage
	if err := strictJSON(raw, &top); err != nil || top == nil {
		return nil, fmt.Errorf("claims is not a JSON object")
	}
	out := &requestedClaims{}
	for member, dst := range map[string]*[]string{"id_token": &out.IDToken, "userinfo": &out.Userinfo} {
		names, err := claimNames(member, top[member])
		if err != nil {
			return nil, err
		}
		*dst = names
	}
	if len(out.IDToken) == 0 && len(out.Userinfo) == 0 {
		return nil, nil
	}
	return out, nil
}

// claimRequest is the value of one requested claim (5.5.1).
type claimRequest struct {
	Essential *bool             `json:"essential"`
	Value     json.RawMessage   `json:"value"`
	Values    []json.RawMessage `json:"values"`
}

// claimNames returns the claims about the citizen a member asks for,
// sorted, checking the shape of every entry.
func claimNames(member string, raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var entries map[string]json.RawMessage
	if err := strictJSON(string(raw), &entries); err != nil {
		return nil, fmt.Errorf("claims: %s is not a JSON object", member)
	}
	var names []string
	for name, v := range entries {
		if string(v) != "null" {
			var cr claimRequest
			if err := json.Unmarshal(v, &cr); err != nil || v[0] != '{' {
				return nil, fmt.Errorf("claims: %s.%s must be null or an object of essential, value, values", member, name)
			}
		}
		// The namespaced name of the Italian profiles asks for the same claim.
		if name = strings.TrimPrefix(name, NamespaceEID); scopeOf(name) != "" && !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names, nil
}

// strictJSON decodes one JSON value and refuses anything after it.
func strictJSON(raw string, v any) error {
	dec := json.NewDecoder(bytes.NewReader([]byte(raw)))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data")
	}
	return nil
}
