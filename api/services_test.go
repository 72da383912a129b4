package api

import (
	"time"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/auditlog"
	"github.com/aegis-sec/aegis/core/auth"
	"github.com/aegis-sec/aegis/core/campaign"
	"github.com/aegis-sec/aegis/core/catalog"
	"github.com/aegis-sec/aegis/core/coverage"
	"github.com/aegis-sec/aegis/core/curation"
	"github.com/aegis-sec/aegis/core/inbox"
	"github.com/aegis-sec/aegis/core/reference"
	"github.com/aegis-sec/aegis/core/schedule"
	"github.com/aegis-sec/aegis/core/testflow"
)

// ServicesFor fills the service fields d leaves nil with services on st, the way
// cmd/aegis builds them (default auth policy, real clock). Tests (of this package and
// of api_test) build their servers with it.
func ServicesFor(st core.Store, d Deps) Deps { return ServicesAt(st, nil, d) }

// ServicesAt is ServicesFor with the clock of the services that keep time (sessions,
// notifications, coverage, campaigns); nil is the real one.
func ServicesAt(st core.Store, now func() time.Time, d Deps) Deps {
	if d.Ready == nil {
		d.Ready = st.Ping
	}
	if d.Auth == nil {
		d.Auth = auth.New(st, auth.Policy{}, now)
	}
	if d.Tests == nil {
		d.Tests = testflow.New(st)
	}
	if d.Catalog == nil {
		d.Catalog = catalog.New(st)
	}
	if d.Curation == nil {
		d.Curation = curation.New(st)
	}
	if d.Audit == nil {
		d.Audit = auditlog.New(st)
	}
	if d.Inbox == nil {
		d.Inbox = inbox.New(st, now)
	}
	if d.Reference == nil {
		d.Reference = reference.New(st)
	}
	if d.Coverage == nil {
		d.Coverage = coverage.New(st, now)
	}
	if d.Campaigns == nil {
		d.Campaigns = campaign.New(st, now)
	}
	if d.Jobs == nil {
		d.Jobs = schedule.NewHistory(st)
	}
	return d
}
