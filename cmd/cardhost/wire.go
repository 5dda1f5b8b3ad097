package main

import (
	"context"
	"strings"
	"time"

	"github.com/cardhost/cardhost/cmd/cardhost/jobs"
	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/ca"
	"github.com/cardhost/cardhost/issuance/catalog"
	"github.com/cardhost/cardhost/issuance/cvv2"
	"github.com/cardhost/cardhost/issuance/emboss"
	"github.com/cardhost/cardhost/issuance/reissue"
)

// newService wires the card domain service (and its certificate
// authority a.ca, catalog a.catalog, CVV2 tries and rotation a.cvv2, and
// reissue a.reissue): stores, vault
// and keys.
func newService(ctx context.Context, a *App) (*issuance.Service, error) {
	keys, err := platformKeys(ctx, a)
	if err != nil {
		return nil, err
	}
	deps := issuance.Deps{
		Tenants: a.db,
		Catalog: a.db,
		Cards:   a.db,
		Keys:    keys,
		Vault:   a.hsm,
		Sandbox: a.cfg.Mode == "sandbox",
		Logger:  a.log,
	}
	a.ca, a.catalog, a.cvv2 = ca.New(deps, a.db), catalog.New(deps), cvv2.New(deps)
	svc := issuance.NewService(deps)
	a.reissue = reissue.New(svc, deps, a.db)
	return svc, nil
}

// backgroundJobs lists the workers `serve` runs beside the servers.
func backgroundJobs(a *App) []jobs.Job {
	return []jobs.Job{
		{Name: "pprof", Run: a.servePprof},
		{Name: "webhooks", Run: a.hooks.Run},
		{Name: "idempotency-purge", Run: func(ctx context.Context) error {
			return jobs.Every(ctx, time.Hour, func(ctx context.Context) error {
				_, err := a.db.PurgeIdempotency(ctx, time.Now())
				return err
			})
		}},
		{Name: "outbox-prune", Run: func(ctx context.Context) error {
			if a.cfg.OutboxRetention == 0 {
				return nil
			}
			return jobs.Every(ctx, time.Minute, func(ctx context.Context) error {
				var total int64
				err := jobs.Drain(ctx, cardJobTimeout(a), func(ctx context.Context) (bool, error) {
					n, err := a.db.PruneOutbox(ctx, time.Now().Add(-a.cfg.OutboxRetention), 5000)
					total += n
					return n > 0, err
				})
				if total > 0 {
					a.log.Info("pruned old events from the outbox", "deleted", total, "retention", a.cfg.OutboxRetention.String())
				}
				return err
			})
		}},
		{Name: "certificate-expiry", Run: func(ctx context.Context) error {
			return jobs.Every(ctx, time.Hour, func(ctx context.Context) error {
				_, err := a.ca.NotifyExpiringCertificates(ctx)
				return err
			})
		}},
		{Name: "embossing", Run: func(ctx context.Context) error {
			return emboss.NewWorker(a.svc, &emboss.Loopback{Dir: a.cfg.DataDir}, emboss.Config{JobTimeout: cardJobTimeout(a)}, a.log).Run(ctx)
		}},
		{Name: "card-batches", Run: func(ctx context.Context) error {
			return jobs.Every(ctx, time.Second, func(ctx context.Context) error {
				return jobs.Drain(ctx, cardJobTimeout(a), func(ctx context.Context) (bool, error) {
					n, err := a.svc.ProcessBatchItems(ctx, 20)
					return n > 0, err
				})
			})
		}},
		{Name: "hold-expiry", Run: func(ctx context.Context) error {
			return jobs.Every(ctx, time.Minute, func(ctx context.Context) error {
				return jobs.Drain(ctx, cardJobTimeout(a), a.engine.ExpireDue)
			})
		}},
		{Name: "card-expiry", Run: func(ctx context.Context) error {
			return jobs.Every(ctx, time.Minute, func(ctx context.Context) error {
				return jobs.Drain(ctx, cardJobTimeout(a), func(ctx context.Context) (bool, error) {
					n, err := a.svc.ExpireCards(ctx, 200)
					return n == 200, err
				})
			})
		}},
	}
}

// cardJobTimeout bounds one pass of the card jobs (embossing, batches,
// expiry), so that an unreachable database never holds their connections
// for long: four statement timeouts.
func cardJobTimeout(a *App) time.Duration {
	if a.cfg.DBTimeout > 0 {
		return 4 * a.cfg.DBTimeout
	}
	return 20 * time.Second
}

// platformKeys returns the platform key references for the service. In
// sandbox mode it first generates and assigns the missing ones (printing
// them once); in production mode missing roles are logged, and the
// operations that need them answer key_not_configured.
func platformKeys(ctx context.Context, a *App) (issuance.SystemKeys, error) {
	if a.cfg.Mode == "sandbox" {
		if err := a.seeder().EnsurePlatformKeys(ctx); err != nil {
			return issuance.SystemKeys{}, err
		}
	}
	keys, err := a.db.SystemKeys(ctx)
	if err != nil {
		return keys, err
	}
	if m := keys.Missing(); len(m) > 0 {
		a.log.Warn("platform key roles without a key; assign them with `cardhost keys assign`", "roles", strings.Join(m, ","))
	}
	return keys, nil
}
