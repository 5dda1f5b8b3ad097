package emboss

import (
	"context"
	"log/slog"
	"time"

	"github.com/cardhost/cardhost/issuance"
)

// Config configures a Worker. The zero value of each field means its
// default.
type Config struct {
	// Interval is how long the worker waits when the queue is empty.
	// Default 1s.
	Interval time.Duration
	// JobTimeout bounds the handling of one card (database, HSM, delivery),
	// so that an unreachable database or embosser never holds a connection
	// for long. Default 30s.
	JobTimeout time.Duration
}

// Worker drains the embossing queue. Run it on every instance: jobs are
// shared out by the database. Safe for concurrent use.
type Worker struct {
	svc     *issuance.Service
	adapter issuance.EmbosserAdapter
	cfg     Config
	log     *slog.Logger
}

// NewWorker returns a worker that sends cards through adapter.
func NewWorker(svc *issuance.Service, adapter issuance.EmbosserAdapter, cfg Config, logger *slog.Logger) *Worker {
	if cfg.Interval <= 0 {
		cfg.Interval = time.Second
	}
	if cfg.JobTimeout <= 0 {
		cfg.JobTimeout = 30 * time.Second
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Worker{svc: svc, adapter: adapter, cfg: cfg, log: logger.With("component", "emboss")}
}

// Drain sends every due card and returns how many jobs it handled.
func (w *Worker) Drain(ctx context.Context) (int, error) {
	n := 0
	for ctx.Err() == nil {
		jctx, cancel := context.WithTimeout(ctx, w.cfg.JobTimeout)
		ok, err := w.svc.EmbossNext(jctx, w.adapter)
		cancel()
		if err != nil {
			return n, err
		}
		if !ok {
			return n, nil
		}
		n++
	}
	return n, nil
}

// Run drains the queue until ctx ends; it returns nil then, or the first
// error (the caller restarts it).
func (w *Worker) Run(ctx context.Context) error {
	t := time.NewTicker(w.cfg.Interval)
	defer t.Stop()
	for {
		n, err := w.Drain(ctx)
		if err != nil && ctx.Err() == nil {
			return err
		}
		if n > 0 {
			w.log.Debug("embossing pass", "jobs", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
