package idp

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode"

	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/x509cns"
)

// The operators on the admin API, the same acts as `cnsgate operators`:
//
//	GET    /admin/operators                 {"operators":[...]}
//	POST   /admin/operators                 an Operator: add (409 exists)
//	PUT    /admin/operators/{fiscal_code}   an Operator: replace (404)
//	DELETE /admin/operators/{fiscal_code}   remove (404)
//	POST   /admin/operators/import          the operators CSV as the body
//
// Roles must be among Options.OperatorRoles (operators.roles). Every change
// is audited by the registry (kind operator_change) with its actor:
// "admin-api:<first 8 hex digits of the token's SHA-256>", followed by
// " as <name>" when the caller names itself in X-Cnsgate-Actor.

// Admin API actions on operators.
const (
	AdminActionListOperators  = "list_operators"
	AdminActionAddOperator    = "add_operator"
	AdminActionUpdateOperator = "update_operator"
	AdminActionRemoveOperator = "remove_operator"
	AdminActionImportOperator = "import_operators"
)

// AdminResultConflict: an operator added twice.
const AdminResultConflict = "conflict"

// OperatorAdmin is what operator administration needs of the registry;
// *sqlstore.DB implements it.
type OperatorAdmin interface {
	ListOperators(ctx context.Context) ([]registry.Operator, error)
	AddOperator(ctx context.Context, o registry.Operator, actor string) error
	UpdateOperator(ctx context.Context, o registry.Operator, actor string) error
	RemoveOperator(ctx context.Context, fiscalCode, actor string) error
	ImportOperatorsCSV(ctx context.Context, r io.Reader, allowedRoles []string, actor string) (registry.ImportResult, error)
}

// OperatorJSON is an operator as the admin API and `cnsgate operators list
// --json` show it; dates are YYYY-MM-DD.
type OperatorJSON struct {
	FiscalCode           string   `json:"fiscal_code"`
	OrganisationID       string   `json:"organisation_id,omitempty"`
	OrganisationName     string   `json:"organisation_name,omitempty"`
	Roles                []string `json:"roles"`
	ValidFrom            string   `json:"valid_from,omitempty"`
	ValidUntil           string   `json:"valid_until,omitempty"`
	OperatorCardRequired *bool    `json:"operator_card_required,omitempty"` // default true
}

// ToOperatorJSON shows an operator.
func ToOperatorJSON(o registry.Operator) OperatorJSON {
	req := !o.AnyCard
	j := OperatorJSON{FiscalCode: o.FiscalCode, OrganisationID: o.Organisation, OrganisationName: o.OrganisationName,
		Roles: o.Roles, OperatorCardRequired: &req}
	if !o.ValidFrom.IsZero() {
		j.ValidFrom = o.ValidFrom.UTC().Format(time.DateOnly)
	}
	if !o.ValidUntil.IsZero() {
		j.ValidUntil = o.ValidUntil.UTC().Format(time.DateOnly)
	}
	return j
}

// Operator reads the entry and checks it against the configured roles.
func (j OperatorJSON) Operator(allowedRoles []string) (registry.Operator, error) {
	o := registry.Operator{FiscalCode: x509cns.NormalizeFiscalCode(j.FiscalCode), Organisation: strings.TrimSpace(j.OrganisationID),
		OrganisationName: strings.TrimSpace(j.OrganisationName), Roles: j.Roles}
	if err := x509cns.ValidateFiscalCode(o.FiscalCode); err != nil {
		return o, fmt.Errorf("fiscal_code: %s", maskedError(err, o.FiscalCode))
	}
	var err error
	if o.ValidFrom, err = parseDate(j.ValidFrom); err != nil {
		return o, fmt.Errorf("valid_from: %w", err)
	}
	if o.ValidUntil, err = parseDate(j.ValidUntil); err != nil {
		return o, fmt.Errorf("valid_until: %w", err)
	}
	o.AnyCard = j.OperatorCardRequired != nil && !*j.OperatorCardRequired
	return o, registry.CheckOperator(o, allowedRoles)
}

func parseDate(s string) (time.Time, error) {
	if s = strings.TrimSpace(s); s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return t, fmt.Errorf("%q is not a date (YYYY-MM-DD)", s)
	}
	return t, nil
}

// operatorRoutes mounts the operator routes when the registry can
// administer operators.
func (a *adminAPI) operatorRoutes(mux *http.ServeMux) {
	if _, ok := a.reg.(OperatorAdmin); !ok {
		return
	}
	mux.Handle("GET /admin/operators", a.guard(AdminActionListOperators, a.listOperators))
	mux.Handle("POST /admin/operators", a.guard(AdminActionAddOperator, a.putOperator))
	mux.Handle("PUT /admin/operators/{fiscal_code}", a.guard(AdminActionUpdateOperator, a.putOperator))
	mux.Handle("DELETE /admin/operators/{fiscal_code}", a.guard(AdminActionRemoveOperator, a.removeOperator))
	mux.Handle("POST /admin/operators/import", a.guard(AdminActionImportOperator, a.importOperators))
}

// actor names who calls: the token (by its hash's prefix, never the token)
// and the name the caller gives, printable characters only.
func (a *adminAPI) actor(r *http.Request) string {
	id := "admin-api:" + hex.EncodeToString(a.tokenHash[:4])
	name := strings.Map(func(c rune) rune {
		if unicode.IsPrint(c) {
			return c
		}
		return -1
	}, strings.TrimSpace(r.Header.Get("X-Cnsgate-Actor")))
	if len(name) > 64 {
		name = name[:64]
	}
	if name != "" {
		id += " as " + name
	}
	return id
}

func (a *adminAPI) listOperators(ctx context.Context, _ *http.Request, c *adminCall) {
	list, err := a.reg.(OperatorAdmin).ListOperators(ctx)
	if err != nil {
		c.fail(http.StatusInternalServerError, AdminResultError, "registry: "+err.Error())
		return
	}
	out := make([]OperatorJSON, 0, len(list))
	for _, o := range list {
		out = append(out, ToOperatorJSON(o))
	}
	c.ok(map[string]any{"operators": out})
}

// putOperator adds (POST) or replaces (PUT, fiscal code in the path) one.
func (a *adminAPI) putOperator(ctx context.Context, r *http.Request, c *adminCall) {
	var j OperatorJSON
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, maxAdminBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		c.fail(http.StatusBadRequest, AdminResultBadRequest, "body: "+err.Error())
		return
	}
	if cf := r.PathValue("fiscal_code"); cf != "" {
		if j.FiscalCode != "" && x509cns.NormalizeFiscalCode(j.FiscalCode) != x509cns.NormalizeFiscalCode(cf) {
			c.fail(http.StatusBadRequest, AdminResultBadRequest, "the body's fiscal_code differs from the path's")
			return
		}
		j.FiscalCode = cf
	}
	o, err := j.Operator(a.s.opts.OperatorRoles)
	if err != nil {
		c.fail(http.StatusBadRequest, AdminResultBadRequest, err.Error())
		return
	}
	c.fiscalCode = o.FiscalCode
	reg := a.reg.(OperatorAdmin)
	if r.Method == http.MethodPut {
		err = reg.UpdateOperator(ctx, o, a.actor(r))
	} else {
		err = reg.AddOperator(ctx, o, a.actor(r))
	}
	if a.operatorFailed(c, err) {
		return
	}
	c.ok(map[string]any{"operator": ToOperatorJSON(o)})
}

func (a *adminAPI) removeOperator(ctx context.Context, r *http.Request, c *adminCall) {
	cf := x509cns.NormalizeFiscalCode(r.PathValue("fiscal_code"))
	if err := x509cns.ValidateFiscalCode(cf); err != nil {
		c.fail(http.StatusBadRequest, AdminResultBadRequest, "fiscal_code: "+maskedError(err, cf))
		return
	}
	c.fiscalCode = cf
	if a.operatorFailed(c, a.reg.(OperatorAdmin).RemoveOperator(ctx, cf, a.actor(r))) {
		return
	}
	c.ok(map[string]any{"removed": 1})
}

func (a *adminAPI) importOperators(ctx context.Context, r *http.Request, c *adminCall) {
	res, err := a.reg.(OperatorAdmin).ImportOperatorsCSV(ctx, http.MaxBytesReader(nil, r.Body, 4<<20), a.s.opts.OperatorRoles, a.actor(r))
	if err != nil {
		var lines interface{ Unwrap() []error }
		if errors.As(err, &lines) || errors.Is(err, registry.ErrInvalidOperator) || strings.Contains(err.Error(), "CSV") {
			c.fail(http.StatusBadRequest, AdminResultBadRequest, err.Error())
			return
		}
		c.fail(http.StatusInternalServerError, AdminResultError, "registry: "+err.Error())
		return
	}
	c.ok(map[string]int{"inserted": res.Inserted, "updated": res.Updated})
}

// operatorFailed fails c for a registry error and reports whether it did.
func (a *adminAPI) operatorFailed(c *adminCall, err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, registry.ErrExists):
		c.fail(http.StatusConflict, AdminResultConflict, "already an operator: use PUT /admin/operators/{fiscal_code}")
	case errors.Is(err, registry.ErrNotFound):
		c.fail(http.StatusNotFound, AdminResultNotFound, "no such operator")
	case errors.Is(err, registry.ErrInvalidOperator):
		c.fail(http.StatusBadRequest, AdminResultBadRequest, err.Error())
	default:
		c.fail(http.StatusInternalServerError, AdminResultError, "registry: "+err.Error())
	}
	return true
}
