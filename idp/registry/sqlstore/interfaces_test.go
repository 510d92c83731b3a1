package sqlstore_test

import (
	"github.com/cnsgate/cnsgate/idp"
	"github.com/cnsgate/cnsgate/idp/metrics"
	"github.com/cnsgate/cnsgate/idp/registry/sqlstore"
)

// The interfaces DB implements, checked here rather than in the package so
// that the store does not import the packages that consume it.
var (
	_ idp.Registry        = (*sqlstore.DB)(nil)
	_ idp.Auditor         = (*sqlstore.DB)(nil)
	_ idp.AdminRegistry   = (*sqlstore.DB)(nil)
	_ metrics.AuditPurger = (*sqlstore.DB)(nil)
)
