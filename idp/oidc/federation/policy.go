package federation

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
)

// The metadata policy operators of OpenID Federation 1.0, 6.1.3, in the
// order they are applied: value, add and default change a parameter, the
// others check the result.
const (
	OpValue      = "value"
	OpAdd        = "add"
	OpDefault    = "default"
	OpOneOf      = "one_of"
	OpSubsetOf   = "subset_of"
	OpSupersetOf = "superset_of"
	OpEssential  = "essential"
)

// operators lists them in the order of application.
var operators = []string{OpValue, OpAdd, OpDefault, OpOneOf, OpSubsetOf, OpSupersetOf, OpEssential}

// Policy is the metadata policy of one entity type: for each metadata
// parameter, its operators and their values (as decoded from JSON).
type Policy map[string]map[string]any

// PolicyError reports a policy that cannot be merged or combined, or
// metadata that a policy refuses.
type PolicyError struct {
	Param, Op, Reason string
}

func (e *PolicyError) Error() string {
	return fmt.Sprintf("metadata policy: %s: %s: %s", e.Param, e.Op, e.Reason)
}

func policyErr(param, op, format string, args ...any) error {
	return &PolicyError{Param: param, Op: op, Reason: fmt.Sprintf(format, args...)}
}

// MergePolicies merges a superior's policy with its subordinate's (the
// trust anchor's first, then each intermediate's down the chain): value and
// default must agree, add and superset_of unite, one_of and subset_of
// intersect (one_of never to nothing), essential is true if either is;
// every parameter's merged operators must then combine (checkCombination).
// crit lists operators that must be understood: an unknown one there is an
// error, any other unknown one is ignored.
func MergePolicies(sup, sub Policy, crit []string) (Policy, error) {
	out := Policy{}
	params := map[string]bool{}
	for p := range sup {
		params[p] = true
	}
	for p := range sub {
		params[p] = true
	}
	for param := range params {
		merged := map[string]any{}
		for _, ops := range []map[string]any{sup[param], sub[param]} {
			for op, v := range ops {
				if !slices.Contains(operators, op) {
					if slices.Contains(crit, op) {
						return nil, policyErr(param, op, "operator not understood and listed in metadata_policy_crit")
					}
					continue
				}
				prev, had := merged[op]
				if !had {
					merged[op] = v
					continue
				}
				m, err := mergeOp(param, op, prev, v)
				if err != nil {
					return nil, err
				}
				merged[op] = m
			}
		}
		if err := checkCombination(param, merged); err != nil {
			return nil, err
		}
		out[param] = merged
	}
	return out, nil
}

// mergeOp merges two values of one operator.
func mergeOp(param, op string, a, b any) (any, error) {
	switch op {
	case OpValue, OpDefault:
		if !sameJSON(a, b) {
			return nil, policyErr(param, op, "superior and subordinate set different values (%s and %s)", js(a), js(b))
		}
		return a, nil
	case OpAdd, OpSupersetOf:
		return union(list(a), list(b)), nil
	case OpOneOf:
		out := intersect(list(a), list(b))
		if len(out) == 0 {
			return nil, policyErr(param, op, "superior's %s and subordinate's %s have nothing in common", js(a), js(b))
		}
		return out, nil
	case OpSubsetOf:
		return intersect(list(a), list(b)), nil
	default: // essential
		ea, _ := a.(bool)
		eb, _ := b.(bool)
		return ea || eb, nil
	}
}

// checkCombination refuses operators of one parameter that contradict
// each other (OpenID Federation 1.0, 6.1.3.1).
func checkCombination(param string, ops map[string]any) error {
	v, hasValue := ops[OpValue]
	add, hasAdd := ops[OpAdd]
	def, hasDefault := ops[OpDefault]
	oneOf, hasOneOf := ops[OpOneOf]
	sub, hasSub := ops[OpSubsetOf]
	sup, hasSup := ops[OpSupersetOf]
	essential, _ := ops[OpEssential].(bool)
	switch {
	case hasOneOf && (hasSub || hasSup):
		return policyErr(param, OpOneOf, "cannot be combined with subset_of or superset_of")
	case hasValue && v == nil && essential:
		return policyErr(param, OpValue, "null (remove) while essential is true")
	case hasValue && hasAdd && v != nil && !subset(list(add), list(v)):
		return policyErr(param, OpAdd, "%s is not within value %s", js(add), js(v))
	case hasValue && hasOneOf && v != nil && !contains(list(oneOf), v):
		return policyErr(param, OpValue, "%s is not one of %s", js(v), js(oneOf))
	case hasValue && hasSub && v != nil && !subset(list(v), list(sub)):
		return policyErr(param, OpValue, "%s is not a subset of %s", js(v), js(sub))
	case hasValue && hasSup && v != nil && !subset(list(sup), list(v)):
		return policyErr(param, OpValue, "%s is not a superset of %s", js(v), js(sup))
	case hasValue && hasDefault && v == nil:
		return policyErr(param, OpDefault, "set while value removes the parameter")
	case hasAdd && hasSub && !subset(list(add), list(sub)):
		return policyErr(param, OpAdd, "%s is not a subset of subset_of %s", js(add), js(sub))
	case hasDefault && hasOneOf && !contains(list(oneOf), def):
		return policyErr(param, OpDefault, "%s is not one of %s", js(def), js(oneOf))
	case hasDefault && hasSub && !subset(list(def), list(sub)):
		return policyErr(param, OpDefault, "%s is not a subset of %s", js(def), js(sub))
	case hasDefault && hasSup && !subset(list(sup), list(def)):
		return policyErr(param, OpDefault, "%s is not a superset of %s", js(def), js(sup))
	case hasSub && hasSup && !subset(list(sup), list(sub)):
		return policyErr(param, OpSupersetOf, "%s is not a subset of subset_of %s", js(sup), js(sub))
	}
	return nil
}

// ApplyPolicy applies a merged policy to an entity's metadata of one type
// and returns the resolved metadata; a parameter the policy refuses is an
// error.
func ApplyPolicy(pol Policy, md map[string]any) (map[string]any, error) {
	out := make(map[string]any, len(md))
	for k, v := range md {
		out[k] = v
	}
	params := make([]string, 0, len(pol))
	for p := range pol {
		params = append(params, p)
	}
	slices.Sort(params)
	for _, param := range params {
		if err := applyParam(param, pol[param], out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// applyParam applies one parameter's operators, in their order.
func applyParam(param string, ops map[string]any, md map[string]any) error {
	for _, op := range operators {
		pv, ok := ops[op]
		if !ok {
			continue
		}
		cur, present := md[param]
		switch op {
		case OpValue:
			if pv == nil {
				delete(md, param)
			} else {
				md[param] = pv
			}
		case OpAdd:
			md[param] = union(listOrNil(cur, present), list(pv))
		case OpDefault:
			if !present || cur == nil {
				md[param] = pv
			}
		case OpOneOf:
			if present && !contains(list(pv), cur) {
				return policyErr(param, op, "%s is not one of %s", js(cur), js(pv))
			}
		case OpSubsetOf:
			if present {
				if got := intersect(list(cur), list(pv)); len(got) > 0 {
					md[param] = got
				} else {
					delete(md, param)
				}
			}
		case OpSupersetOf:
			if present && !subset(list(pv), list(cur)) {
				return policyErr(param, op, "%s does not contain %s", js(cur), js(pv))
			}
		case OpEssential:
			if e, _ := pv.(bool); e && md[param] == nil {
				return policyErr(param, op, "the parameter is essential and missing")
			}
		}
	}
	return nil
}

// list is v as a list: itself when it is one, else a list of it.
func list(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	if l, ok := v.([]string); ok {
		out := make([]any, len(l))
		for i, s := range l {
			out[i] = s
		}
		return out
	}
	return []any{v}
}

func listOrNil(v any, present bool) []any {
	if !present || v == nil {
		return nil
	}
	return list(v)
}

func contains(l []any, v any) bool {
	return slices.ContainsFunc(l, func(x any) bool { return sameJSON(x, v) })
}

func subset(a, b []any) bool {
	for _, x := range a {
		if !contains(b, x) {
			return false
		}
	}
	return true
}

// union keeps a's order and appends what b adds.
func union(a, b []any) []any {
	out := slices.Clone(a)
	for _, x := range b {
		if !contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

// intersect keeps a's order.
func intersect(a, b []any) []any {
	out := []any{}
	for _, x := range a {
		if contains(b, x) && !contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

// sameJSON compares two decoded JSON values.
func sameJSON(a, b any) bool {
	if reflect.DeepEqual(a, b) {
		return true
	}
	ja, ea := json.Marshal(a)
	jb, eb := json.Marshal(b)
	return ea == nil && eb == nil && string(ja) == string(jb)
}

// js renders v in an error message.
func js(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
