package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/cardhost/cardhost/issuance/whsig"
	"github.com/cardhost/cardhost/kafka"
)

// Config configures a Dispatcher. The zero value of each field means its
// default.
type Config struct {
	// Schedule is the delay before each attempt (DefaultSchedule).
	Schedule []time.Duration
	// Jitter spreads each delay by up to this fraction either way.
	// Default 0.2; negative: none.
	Jitter float64
	// Timeout bounds one attempt, from dialing to the last byte of the
	// answer read. Default 15s.
	Timeout time.Duration
	// Workers bounds the attempts in flight. Default 32.
	Workers int
	// PerEndpoint bounds the attempts in flight to one endpoint, so a
	// slow endpoint holds at most that many workers. Default 4.
	PerEndpoint int
	// PollInterval is how often due deliveries and new outbox rows are
	// looked for when nothing woke the dispatcher. Default 500ms.
	PollInterval time.Duration
	// IngestBatch is how many outbox rows one ingest pass moves. Default 500.
	IngestBatch int
	// DisableAfter: an endpoint whose every attempt failed for this long
	// is disabled. Default DefaultDisableAge (5 days).
	DisableAfter time.Duration
	// MaxRetryAfter caps the Retry-After an endpoint may ask for.
	// Default 24h.
	MaxRetryAfter time.Duration
	// Retention is how long events are kept. Default DefaultRetention.
	Retention time.Duration
}

func (c *Config) setDefaults() {
	if len(c.Schedule) == 0 {
		c.Schedule = DefaultSchedule
	}
	if c.Jitter == 0 {
		c.Jitter = 0.2
	}
	if c.Timeout <= 0 {
		c.Timeout = 15 * time.Second
	}
	if c.Workers <= 0 {
		c.Workers = 32
	}
	if c.PerEndpoint <= 0 {
		c.PerEndpoint = 4
	}
	if c.PollInterval <= 0 {
		c.PollInterval = 500 * time.Millisecond
	}
	if c.IngestBatch <= 0 {
		c.IngestBatch = 500
	}
	if c.DisableAfter <= 0 {
		c.DisableAfter = DefaultDisableAge
	}
	if c.MaxRetryAfter <= 0 {
		c.MaxRetryAfter = 24 * time.Hour
	}
	if c.Retention <= 0 {
		c.Retention = DefaultRetention
	}
}

// Request is one signed POST of an event to an endpoint.
type Request struct {
	URL    string
	Header http.Header // Content-Type and the Standard Webhooks headers
	Body   []byte
}

// Result is what an endpoint answered. Err is set when there is no usable
// answer (refused address or connection, timeout, TLS failure, a body
// over the limit); its text must hold neither the URL nor a secret.
type Result struct {
	StatusCode int
	RetryAfter time.Duration // the answer's Retry-After, 0 when none
	Duration   time.Duration
	Err        error
}

// Delivered reports whether the endpoint acknowledged: a 2xx answer read
// in full.
func (r Result) Delivered() bool { return r.Err == nil && r.StatusCode >= 200 && r.StatusCode < 300 }

// Sender sends a Request, never following redirects and reading a
// bounded answer; issuance/webhook/sender implements it over HTTP. It
// must return when ctx ends.
type Sender interface {
	Send(ctx context.Context, r Request) Result
}

// Observer is told what the dispatcher does (metrics); every method must
// be quick and safe for concurrent use. issuance/webhook/sender's Metrics
// implements it.
type Observer interface {
	// Attempted: one attempt ended, delivered or not.
	Attempted(r Result)
	// Disabled: an endpoint was disabled for reason (gone, failing).
	Disabled(reason string)
	// Ingested: n outbox events read, and their deliveries created.
	Ingested(n int)
}

type noObserver struct{}

func (noObserver) Attempted(Result) {}
func (noObserver) Disabled(string)  {}
func (noObserver) Ingested(int)     {}

// Dispatcher ingests events and delivers them. Run it in one goroutine
// per instance; instances share the work through the Store.
type Dispatcher struct {
	cfg    Config
	store  Store
	vault  Vault
	sender Sender
	obs    Observer
	log    *slog.Logger
	now    func() time.Time
	wake   chan struct{}

	mu       sync.Mutex
	inflight map[string]int // endpoint id -> attempts in flight
	total    int
}

// NewDispatcher returns a dispatcher; obs may be nil, now nil means
// time.Now.
func NewDispatcher(cfg Config, store Store, vault Vault, sender Sender, obs Observer, log *slog.Logger, now func() time.Time) *Dispatcher {
	cfg.setDefaults()
	if obs == nil {
		obs = noObserver{}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	return &Dispatcher{cfg: cfg, store: store, vault: vault, sender: sender, obs: obs, log: log.With("component", "webhooks"),
		now: now, wake: make(chan struct{}, 1), inflight: map[string]int{}}
}

// Wake makes the dispatcher look for new events now (call it after a
// commit that wrote to the outbox). It never blocks.
func (d *Dispatcher) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run ingests and delivers until ctx ends. Attempts in flight then are
// interrupted and their deliveries released (due at once, for the next
// instance or start); nothing is lost. Store failures are logged and
// retried; Run returns nil when ctx ends.
func (d *Dispatcher) Run(ctx context.Context) error {
	sendCtx, interrupt := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	defer func() {
		interrupt()
		wg.Wait()
	}()
	done := make(chan struct{}, d.cfg.Workers)
	var lastPurge time.Time
	backoff := d.cfg.PollInterval
	// A wake-up (a commit, a finished attempt) starts the next pass, but
	// not sooner than minGap after the last one started: under load the
	// dispatcher batches instead of querying after every commit.
	minGap := min(50*time.Millisecond, d.cfg.PollInterval)
	for ctx.Err() == nil {
		started := time.Now()
		more, err := d.pass(ctx, sendCtx, &wg, done, &lastPurge)
		wait := d.cfg.PollInterval
		switch {
		case err != nil && ctx.Err() == nil:
			d.log.Error("webhook dispatcher pass failed; retrying", "err", err, "retry_in", backoff.String())
			wait, backoff = backoff, min(2*backoff, 10*time.Second)
		case more:
			wait, backoff = 0, d.cfg.PollInterval
		default:
			backoff = d.cfg.PollInterval
		}
		if wait == 0 {
			continue
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-d.wake:
		case <-done:
		case <-t.C:
		}
		t.Stop()
		if gap := minGap - time.Since(started); gap > 0 {
			t.Reset(gap)
			select {
			case <-ctx.Done():
			case <-t.C:
			}
		}
	}
	return nil
}

// pass ingests new events, purges old ones (hourly) and starts the due
// deliveries there is room for; more reports that work is left.
func (d *Dispatcher) pass(ctx, sendCtx context.Context, wg *sync.WaitGroup, done chan struct{}, lastPurge *time.Time) (bool, error) {
	now := d.now().UTC()
	n, err := d.store.Ingest(ctx, d.cfg.IngestBatch, now)
	if err != nil {
		return false, fmt.Errorf("ingesting events: %w", err)
	}
	if n > 0 {
		d.obs.Ingested(n)
	}
	more := n == d.cfg.IngestBatch
	if now.Sub(*lastPurge) > time.Hour {
		if _, err := d.store.Purge(ctx, now.Add(-d.cfg.Retention), 5000); err != nil {
			return more, fmt.Errorf("purging events: %w", err)
		}
		*lastPurge = now
	}
	d.mu.Lock()
	free := d.cfg.Workers - d.total
	room := make(map[string]int, len(d.inflight))
	for id, k := range d.inflight {
		room[id] = d.cfg.PerEndpoint - k
	}
	d.mu.Unlock()
	if free <= 0 {
		return more, nil
	}
	jobs, err := d.store.Claim(ctx, now, now.Add(d.cfg.Timeout+5*time.Second), free, d.cfg.PerEndpoint, room)
	if err != nil {
		return more, fmt.Errorf("claiming deliveries: %w", err)
	}
	for _, j := range jobs {
		d.mu.Lock()
		d.inflight[j.Endpoint.ID]++
		d.total++
		d.mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.deliver(sendCtx, j)
			d.mu.Lock()
			if d.inflight[j.Endpoint.ID]--; d.inflight[j.Endpoint.ID] <= 0 {
				delete(d.inflight, j.Endpoint.ID)
			}
			d.total--
			d.mu.Unlock()
			select {
			case done <- struct{}{}:
			default:
			}
		}()
	}
	return more || len(jobs) == free, nil
}

// secrets opens the endpoint's signing secrets: the current one, and the
// previous one while it still signs.
func (d *Dispatcher) secrets(ctx context.Context, e Endpoint, now time.Time) ([]whsig.Secret, error) {
	sealed := [][]byte{e.Sealed}
	if e.SealedPrevious != nil && e.PreviousSecretExpiresAt != nil && now.Before(*e.PreviousSecretExpiresAt) {
		sealed = append(sealed, e.SealedPrevious)
	}
	var out []whsig.Secret
	for _, s := range sealed {
		clear, err := d.vault.OpenSecret(ctx, e.SealKeyRef, e.TenantID, secretBinding(e.ID), s)
		if err != nil {
			return nil, fmt.Errorf("opening the signing secret of webhook endpoint %s: %w", e.ID, err)
		}
		out = append(out, whsig.Secret(clear))
	}
	return out, nil
}

// deliver makes one attempt of a job and records its outcome.
func (d *Dispatcher) deliver(ctx context.Context, j Job) {
	bg := context.WithoutCancel(ctx)
	log := d.log.With("tenant_id", j.Endpoint.TenantID, "endpoint_id", j.Endpoint.ID, "event_id", j.Event.ID, "event_type", j.Event.Type, "attempt", j.Attempt)
	release := func(at time.Time) {
		rctx, cancel := context.WithTimeout(bg, 5*time.Second)
		defer cancel()
		if err := d.store.Release(rctx, j.DeliveryID, at); err != nil {
			log.Error("releasing a webhook delivery", "err", err)
		}
	}
	now := d.now().UTC()
	secrets, err := d.secrets(ctx, j.Endpoint, now)
	if err != nil {
		log.Error("cannot sign a webhook delivery; retrying in a minute", "err", err)
		release(now.Add(time.Minute))
		return
	}
	body, err := json.Marshal(j.Event)
	if err != nil {
		log.Error("cannot encode an event for a webhook; retrying in a minute", "err", err)
		release(now.Add(time.Minute))
		return
	}
	h := http.Header{"Content-Type": {"application/json"}}
	whsig.SetHeaders(h, j.Event.ID, now, body, secrets...)
	for _, s := range secrets {
		s.Wipe()
	}
	actx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	res := d.sender.Send(actx, Request{URL: j.Endpoint.URL, Header: h, Body: body})
	cancel()
	if ctx.Err() != nil { // shutting down: not an attempt of the endpoint's
		release(d.now().UTC())
		return
	}
	d.obs.Attempted(res)
	o := d.outcome(j, res, now)
	rctx, rcancel := context.WithTimeout(bg, 10*time.Second)
	defer rcancel()
	reason, err := d.store.Record(rctx, o, o.At.Add(-d.cfg.DisableAfter), func(reason string, since *time.Time) (kafka.Event, error) {
		return kafka.NewEvent(kafka.TypeWebhookEndpointDisabled, j.Endpoint.TenantID, j.Endpoint.TenantID,
			kafka.WebhookEndpointData{ID: j.Endpoint.ID, TenantID: j.Endpoint.TenantID, Reason: reason, FailingSince: since, DisabledAt: o.At}, o.At)
	})
	if err != nil {
		// The lease runs out and the delivery is attempted again.
		log.Error("recording a webhook attempt", "err", err)
		return
	}
	attrs := []any{"status", res.StatusCode, "duration_ms", res.Duration.Milliseconds()}
	switch {
	case o.Delivered:
		log.Debug("webhook delivered", attrs...)
	case o.NextAttemptAt != nil:
		log.Info("webhook attempt failed; retrying", append(attrs, "error", o.Error, "next_attempt_at", o.NextAttemptAt)...)
	default:
		log.Warn("webhook delivery failed for good", append(attrs, "error", o.Error)...)
	}
	if reason != "" {
		d.obs.Disabled(reason)
		log.Warn("webhook endpoint disabled", "reason", reason)
	}
}

// maxErrorText bounds an attempt's stored error.
const maxErrorText = 300

// outcome turns an attempt's result into what is recorded: delivered; or
// the next attempt on the schedule (jittered, and not before the
// endpoint's Retry-After); or no next attempt when the schedule is done
// or the endpoint answered 410.
func (d *Dispatcher) outcome(j Job, res Result, at time.Time) Outcome {
	o := Outcome{DeliveryID: j.DeliveryID, TenantID: j.Endpoint.TenantID, EndpointID: j.Endpoint.ID, EventID: j.Event.ID,
		Attempt: j.Attempt, At: at, Duration: res.Duration, StatusCode: res.StatusCode, Delivered: res.Delivered()}
	if o.Delivered {
		return o
	}
	switch {
	case res.Err != nil:
		o.Error = res.Err.Error()
	case res.StatusCode >= 300 && res.StatusCode < 400:
		o.Error = fmt.Sprintf("answered %d: redirects are not followed; register the final URL", res.StatusCode)
	default:
		o.Error = fmt.Sprintf("answered %d", res.StatusCode)
	}
	if len(o.Error) > maxErrorText {
		o.Error = o.Error[:maxErrorText]
	}
	if res.StatusCode == http.StatusGone {
		o.Gone = true
		return o
	}
	if j.Attempt < len(d.cfg.Schedule) {
		delay := jitter(d.cfg.Schedule[j.Attempt], d.cfg.Jitter)
		if ra := min(res.RetryAfter, d.cfg.MaxRetryAfter); ra > delay {
			delay = ra
		}
		next := at.Add(res.Duration + delay)
		o.NextAttemptAt = &next
	}
	return o
}
