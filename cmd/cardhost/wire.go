package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/ca"
	"github.com/cardhost/cardhost/issuance/catalog"
	"github.com/cardhost/cardhost/issuance/cvv2"
	"github.com/cardhost/cardhost/issuance/emboss"
)

// newService wires the card domain service (and its certificate
// authority a.ca, catalog a.catalog and CVV2 tries a.cvv2): stores, vault
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
	return issuance.NewService(deps), nil
}

// job is a background worker (embossing, schedulers): it runs until ctx
// ends and returns nil then.
type job struct {
	name string
	run  func(ctx context.Context) error
}

// backgroundJobs lists the workers `serve` runs beside the servers.
func backgroundJobs(a *App) []job {
	return []job{
		{"pprof", a.servePprof},
		{"webhooks", a.hooks.Run},
		{"idempotency-purge", func(ctx context.Context) error {
			return every(ctx, time.Hour, func(ctx context.Context) error {
				_, err := a.db.PurgeIdempotency(ctx, time.Now())
				return err
			})
		}},
		{"outbox-prune", func(ctx context.Context) error {
			if a.cfg.OutboxRetention == 0 {
				return nil
			}
			return every(ctx, time.Minute, func(ctx context.Context) error {
				var total int64
				err := cardJobDrain(ctx, cardJobTimeout(a), func(ctx context.Context) (bool, error) {
					n, err := a.db.PruneOutbox(ctx, time.Now().Add(-a.cfg.OutboxRetention), 5000)
					total += n
					return n > 0, err
				})
				if total > 0 {
					a.log.Info("pruned published events from the outbox", "deleted", total, "retention", a.cfg.OutboxRetention.String())
				}
				return err
			})
		}},
		{"certificate-expiry", func(ctx context.Context) error {
			return every(ctx, time.Hour, func(ctx context.Context) error {
				_, err := a.ca.NotifyExpiringCertificates(ctx)
				return err
			})
		}},
		{"embossing", func(ctx context.Context) error {
			return emboss.NewWorker(a.svc, &emboss.Loopback{Dir: a.cfg.DataDir}, emboss.Config{JobTimeout: cardJobTimeout(a)}, a.log).Run(ctx)
		}},
		{"card-batches", func(ctx context.Context) error {
			return every(ctx, time.Second, func(ctx context.Context) error {
				return cardJobDrain(ctx, cardJobTimeout(a), func(ctx context.Context) (bool, error) {
					n, err := a.svc.ProcessBatchItems(ctx, 20)
					return n > 0, err
				})
			})
		}},
		{"card-expiry", func(ctx context.Context) error {
			return every(ctx, time.Minute, func(ctx context.Context) error {
				return cardJobDrain(ctx, cardJobTimeout(a), func(ctx context.Context) (bool, error) {
					n, err := a.svc.ExpireCards(ctx, 200)
					return n == 200, err
				})
			})
		}},
	}
}

// runJobs runs jobs until ctx ends; a job that fails is logged and
// restarted after a pause.
func runJobs(ctx context.Context, jobs []job, log *slog.Logger) {
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				err := j.run(ctx)
				if err == nil || errors.Is(err, context.Canceled) {
					return
				}
				log.Error("background job failed; restarting", "job", j.name, "err", err)
				select {
				case <-ctx.Done():
				case <-time.After(5 * time.Second):
				}
			}
		}()
	}
	wg.Wait()
}

// every calls fn now and then every interval until ctx ends; errors are
// returned only when ctx is still live (a failing pass ends the job, which
// runJobs restarts).
func every(ctx context.Context, interval time.Duration, fn func(context.Context) error) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := fn(ctx); err != nil && ctx.Err() == nil {
			return fmt.Errorf("periodic pass: %w", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
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

// cardJobDrain runs pass, each under its own timeout, while it reports more work.
func cardJobDrain(ctx context.Context, timeout time.Duration, pass func(context.Context) (bool, error)) error {
	for ctx.Err() == nil {
		pctx, cancel := context.WithTimeout(ctx, timeout)
		more, err := pass(pctx)
		cancel()
		if err != nil || !more {
			return err
		}
	}
	return nil
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
