// Package jobs runs cardhost serve's background workers (embossing,
// schedulers, purges): each in its own goroutine until the context ends,
// restarted after a pause when it fails. It is part of cmd/cardhost's
// wiring, with no rule of the domain: the jobs themselves are listed in
// cmd/cardhost (wire.go). It imports no cardhost package.
package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Job is a background worker: it runs until ctx ends and returns nil then.
type Job struct {
	Name string
	Run  func(ctx context.Context) error
}

// RestartPause is how long a failed job waits before it runs again.
const RestartPause = 5 * time.Second

// Run runs jobs until ctx ends; a job that fails is logged and restarted
// after RestartPause. It returns when every job has returned.
func Run(ctx context.Context, jobs []Job, log *slog.Logger) {
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Go(func() {
			for ctx.Err() == nil {
				err := j.Run(ctx)
				if err == nil || errors.Is(err, context.Canceled) {
					return
				}
				log.Error("background job failed; restarting", "job", j.Name, "err", err)
				select {
				case <-ctx.Done():
				case <-time.After(RestartPause):
				}
			}
		})
	}
	wg.Wait()
}

// Every calls fn now and then every interval until ctx ends; errors are
// returned only when ctx is still live (a failing pass ends the job, which
// Run restarts).
func Every(ctx context.Context, interval time.Duration, fn func(context.Context) error) error {
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

// Drain runs pass, each call under its own timeout, while it reports more
// work.
func Drain(ctx context.Context, timeout time.Duration, pass func(context.Context) (bool, error)) error {
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
