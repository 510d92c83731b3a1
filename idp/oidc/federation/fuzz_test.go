package federation_test

import (
	"encoding/json"
	"testing"

	"github.com/cnsgate/cnsgate/idp/oidc/federation"
)

// FuzzPolicy merges and applies policies read from arbitrary JSON, as a
// statement's metadata_policy decodes: an error or a result, never a
// panic.
func FuzzPolicy(f *testing.F) {
	f.Add(`{"a":{"value":["x"],"add":"y"}}`, `{"a":{"subset_of":["x"],"essential":true}}`, `{"a":["x","z"]}`)
	f.Add(`{"a":{"one_of":[{"k":1}],"default":{"k":1}}}`, `{"a":{"superset_of":null}}`, `{"a":{"k":1}}`)
	f.Add(`{"a":{"value":null}}`, `{"a":{"essential":"yes","regexp":1}}`, `{}`)
	f.Fuzz(func(t *testing.T, sup, sub, md string) {
		var ps, pb federation.Policy
		var m map[string]any
		if json.Unmarshal([]byte(sup), &ps) != nil || json.Unmarshal([]byte(sub), &pb) != nil || json.Unmarshal([]byte(md), &m) != nil {
			return
		}
		pol, err := federation.MergePolicies(ps, pb, []string{"regexp"})
		if err != nil {
			return
		}
		_, _ = federation.ApplyPolicy(pol, m)
	})
}
