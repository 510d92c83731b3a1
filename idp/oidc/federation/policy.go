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

// combination is a rule between two operators of one parameter: when both
// are present, ok must hold, else the error names op.
type combination struct {
	a, b string
	op   string
	ok   func(a, b any) bool
	msg  func(a, b any) string
}

// combinations are the rules of OpenID Federation 1.0, 6.1.3.1.
var combinations = []combination{
	{OpOneOf, OpSubsetOf, OpOneOf, never, fixed("cannot be combined with subset_of or superset_of")},
	{OpOneOf, OpSupersetOf, OpOneOf, never, fixed("cannot be combined with subset_of or superset_of")},
	{OpValue, OpEssential, OpValue, func(v, e any) bool { return v != nil || e != true }, fixed("null (remove) while essential is true")},
	{OpValue, OpAdd, OpAdd, func(v, add any) bool { return v == nil || subset(list(add), list(v)) },
		func(v, add any) string { return js(add) + " is not within value " + js(v) }},
	{OpValue, OpOneOf, OpValue, func(v, o any) bool { return v == nil || contains(list(o), v) }, pair("is not one of")},
	{OpValue, OpSubsetOf, OpValue, func(v, sub any) bool { return v == nil || subset(list(v), list(sub)) }, pair("is not a subset of")},
	{OpValue, OpSupersetOf, OpValue, func(v, sup any) bool { return v == nil || subset(list(sup), list(v)) }, pair("is not a superset of")},
	{OpValue, OpDefault, OpDefault, func(v, _ any) bool { return v != nil }, fixed("set while value removes the parameter")},
	{OpAdd, OpSubsetOf, OpAdd, func(add, sub any) bool { return subset(list(add), list(sub)) }, pair("is not a subset of subset_of")},
	{OpDefault, OpOneOf, OpDefault, func(d, o any) bool { return contains(list(o), d) }, pair("is not one of")},
	{OpDefault, OpSubsetOf, OpDefault, func(d, sub any) bool { return subset(list(d), list(sub)) }, pair("is not a subset of")},
	{OpDefault, OpSupersetOf, OpDefault, func(d, sup any) bool { return subset(list(sup), list(d)) }, pair("is not a superset of")},
	{OpSubsetOf, OpSupersetOf, OpSupersetOf, func(sub, sup any) bool { return subset(list(sup), list(sub)) },
		func(sub, sup any) string { return js(sup) + " is not a subset of subset_of " + js(sub) }},
}

func never(any, any) bool { return false }

func fixed(msg string) func(any, any) string { return func(any, any) string { return msg } }

func pair(verb string) func(any, any) string {
	return func(a, b any) string { return js(a) + " " + verb + " " + js(b) }
}

// checkCombination refuses operators of one parameter that contradict
// each other.
func checkCombination(param string, ops map[string]any) error {
	for _, c := range combinations {
		a, hasA := ops[c.a]
		b, hasB := ops[c.b]
		if hasA && hasB && !c.ok(a, b) {
			return policyErr(param, c.op, "%s", c.msg(a, b))
		}
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

// applyParam applies one parameter's operators, in their order: the
// modifiers, then the checks.
func applyParam(param string, ops map[string]any, md map[string]any) error {
	for _, op := range operators {
		pv, ok := ops[op]
		if !ok {
			continue
		}
		if modify(op, param, pv, md) {
			continue
		}
		if err := check(op, param, pv, md); err != nil {
			return err
		}
	}
	return nil
}

// modify applies value, add, default and subset_of, reporting whether op
// is one of them.
func modify(op, param string, pv any, md map[string]any) bool {
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
	case OpSubsetOf:
		if !present {
			break
		}
		if got := intersect(list(cur), list(pv)); len(got) > 0 {
			md[param] = got
		} else {
			delete(md, param)
		}
	default:
		return false
	}
	return true
}

// check applies one_of, superset_of and essential.
func check(op, param string, pv any, md map[string]any) error {
	cur, present := md[param]
	switch {
	case op == OpOneOf && present && !contains(list(pv), cur):
		return policyErr(param, op, "%s is not one of %s", js(cur), js(pv))
	case op == OpSupersetOf && present && !subset(list(pv), list(cur)):
		return policyErr(param, op, "%s does not contain %s", js(cur), js(pv))
	case op == OpEssential && pv == true && cur == nil:
		return policyErr(param, op, "the parameter is essential and missing")
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
