package federation_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/cnsgate/cnsgate/idp/oidc/federation"
)

func decode(t *testing.T, s string) map[string]any {
	t.Helper()
	var out map[string]any
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return out
}

func policyOf(t *testing.T, s string) federation.Policy {
	t.Helper()
	out := federation.Policy{}
	for k, v := range decode(t, s) {
		out[k] = v.(map[string]any)
	}
	return out
}

// TestPolicyOperators applies every operator, merged from a superior's
// and a subordinate's policy, to relying-party metadata.
func TestPolicyOperators(t *testing.T) {
	md := `{"grant_types":["authorization_code","refresh_token","implicit"],"scope":"openid","contacts":["a@rp.it"],
		"response_types":["code"],"token_endpoint_auth_method":"private_key_jwt","application_type":"web"}`
	cases := []struct {
		name, sup, sub, want string
	}{
		{"value sets", `{"application_type":{"value":"native"}}`, `{}`, `"application_type":"native"`},
		{"value null removes", `{"application_type":{"value":null}}`, `{"application_type":{"value":null}}`, `!"application_type"`},
		{"value sets a missing one", `{}`, `{"subject_type":{"value":"pairwise"}}`, `"subject_type":"pairwise"`},
		{"add unites", `{"contacts":{"add":["ta@fed.it"]}}`, `{"contacts":{"add":["im@fed.it"]}}`, `"contacts":["a@rp.it","ta@fed.it","im@fed.it"]`},
		{"default fills", `{"id_token_signed_response_alg":{"default":"RS256"}}`, `{}`, `"id_token_signed_response_alg":"RS256"`},
		{"default leaves a value", `{"application_type":{"default":"native"}}`, `{}`, `"application_type":"web"`},
		{"one_of accepts", `{"token_endpoint_auth_method":{"one_of":["private_key_jwt","self_signed_tls_client_auth"]}}`,
			`{"token_endpoint_auth_method":{"one_of":["private_key_jwt"]}}`, `"token_endpoint_auth_method":"private_key_jwt"`},
		{"subset_of intersects", `{"grant_types":{"subset_of":["authorization_code","refresh_token"]}}`,
			`{"grant_types":{"subset_of":["authorization_code"]}}`, `"grant_types":["authorization_code"]`},
		{"subset_of to nothing removes", `{"response_types":{"subset_of":["id_token"]}}`, `{}`, `!"response_types"`},
		{"superset_of accepts", `{"grant_types":{"superset_of":["authorization_code"]}}`, `{"grant_types":{"superset_of":["refresh_token"]}}`, `"grant_types":["authorization_code","refresh_token","implicit"]`},
		{"essential present", `{"scope":{"essential":true}}`, `{"scope":{"essential":false}}`, `"scope":"openid"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pol, err := federation.MergePolicies(policyOf(t, tc.sup), policyOf(t, tc.sub), nil)
			if err != nil {
				t.Fatal(err)
			}
			out, err := federation.ApplyPolicy(pol, decode(t, md))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(out)
			if absent, ok := strings.CutPrefix(tc.want, "!"); ok {
				if strings.Contains(string(b), absent) {
					t.Fatalf("%s still there: %s", absent, b)
				}
				return
			}
			if !strings.Contains(string(b), tc.want) {
				t.Fatalf("got %s\nwant %s", b, tc.want)
			}
		})
	}
}

// TestPolicyRefusals: merges that conflict, operators that contradict
// each other, and metadata a policy refuses.
func TestPolicyRefusals(t *testing.T) {
	md := `{"grant_types":["authorization_code"],"token_endpoint_auth_method":"private_key_jwt"}`
	cases := []struct {
		name, sup, sub, want string
	}{
		{"value conflict", `{"a":{"value":"x"}}`, `{"a":{"value":"y"}}`, `a: value: superior and subordinate set different values`},
		{"default conflict", `{"a":{"default":"x"}}`, `{"a":{"default":"y"}}`, `a: default: superior and subordinate set different values`},
		{"one_of disjoint", `{"a":{"one_of":["x"]}}`, `{"a":{"one_of":["y"]}}`, `a: one_of: superior's ["x"] and subordinate's ["y"] have nothing in common`},
		{"one_of with subset_of", `{"a":{"one_of":["x"]}}`, `{"a":{"subset_of":["x"]}}`, `a: one_of: cannot be combined`},
		{"value outside one_of", `{"a":{"one_of":["x"]}}`, `{"a":{"value":"y"}}`, `a: value: "y" is not one of ["x"]`},
		{"value outside subset_of", `{"a":{"subset_of":["x"]}}`, `{"a":{"value":["x","y"]}}`, `a: value: ["x","y"] is not a subset of ["x"]`},
		{"value short of superset_of", `{"a":{"superset_of":["x","y"]}}`, `{"a":{"value":["x"]}}`, `a: value: ["x"] is not a superset of ["x","y"]`},
		{"add outside value", `{"a":{"value":["x"]}}`, `{"a":{"add":["y"]}}`, `a: add: ["y"] is not within value ["x"]`},
		{"add outside subset_of", `{"a":{"subset_of":["x"]}}`, `{"a":{"add":["y"]}}`, `a: add: ["y"] is not a subset of subset_of ["x"]`},
		{"default outside one_of", `{"a":{"one_of":["x"]}}`, `{"a":{"default":"y"}}`, `a: default: "y" is not one of ["x"]`},
		{"superset_of outside subset_of", `{"a":{"subset_of":["x"]}}`, `{"a":{"superset_of":["y"]}}`, `a: superset_of: ["y"] is not a subset of subset_of ["x"]`},
		{"removed yet essential", `{"a":{"essential":true}}`, `{"a":{"value":null}}`, `a: value: null (remove) while essential is true`},
		{"critical unknown operator", `{"a":{"regexp":"^x$"}}`, `{}`, `a: regexp: operator not understood and listed in metadata_policy_crit`},
		{"one_of refuses", `{"token_endpoint_auth_method":{"one_of":["client_secret_basic"]}}`, `{}`, `token_endpoint_auth_method: one_of: "private_key_jwt" is not one of ["client_secret_basic"]`},
		{"superset_of refuses", `{"grant_types":{"superset_of":["refresh_token"]}}`, `{}`, `grant_types: superset_of: ["authorization_code"] does not contain ["refresh_token"]`},
		{"essential missing", `{"jwks":{"essential":true}}`, `{}`, `jwks: essential: the parameter is essential and missing`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pol, err := federation.MergePolicies(policyOf(t, tc.sup), policyOf(t, tc.sub), []string{"regexp"})
			if err == nil {
				_, err = federation.ApplyPolicy(pol, decode(t, md))
			}
			var pe *federation.PolicyError
			if !errors.As(err, &pe) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v\nwant a PolicyError containing %s", err, tc.want)
			}
		})
	}
	// An unknown operator not listed as critical is ignored.
	if _, err := federation.MergePolicies(policyOf(t, `{"a":{"regexp":"^x$"}}`), nil, nil); err != nil {
		t.Fatalf("non-critical unknown operator: %v", err)
	}
}
