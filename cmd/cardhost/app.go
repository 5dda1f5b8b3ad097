package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/cardhost/cardhost/cmd/cardhost/jobs"
	"github.com/cardhost/cardhost/cmd/cardhost/sandbox"
	"github.com/cardhost/cardhost/cmd/cardhost/startup"
	"github.com/cardhost/cardhost/emv/softhsm"
	"github.com/cardhost/cardhost/host"
	"github.com/cardhost/cardhost/host/isoserver"
	hostpg "github.com/cardhost/cardhost/host/postgres"
	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/ca"
	"github.com/cardhost/cardhost/issuance/catalog"
	"github.com/cardhost/cardhost/issuance/console"
	"github.com/cardhost/cardhost/issuance/cvv2"
	"github.com/cardhost/cardhost/issuance/ledger"
	"github.com/cardhost/cardhost/issuance/postgres"
	"github.com/cardhost/cardhost/issuance/reissue"
	"github.com/cardhost/cardhost/issuance/rest"
	"github.com/cardhost/cardhost/issuance/subaccount"
	"github.com/cardhost/cardhost/issuance/webhook"
	whpg "github.com/cardhost/cardhost/issuance/webhook/postgres"
	"github.com/cardhost/cardhost/issuance/webhook/sender"
	"github.com/cardhost/cardhost/kafka/embedded"
	"github.com/cardhost/cardhost/kafka/outbox"
)

// App is one running cardhost: wiring only, no business rules.
type App struct {
	cfg Config
	log *slog.Logger
	// out receives one-time reports for the operator (the sandbox key set
	// and API key): stdout, never the logs.
	out io.Writer
	reg *prometheus.Registry

	db      *postgres.DB
	ledger  *hostpg.Ledger
	hsm     *softhsm.HSM
	broker  *embedded.Broker // nil when KAFKA_BROKERS is set
	brokers []string
	relay   *outbox.Relay
	svc     *issuance.Service
	ca      *ca.Service
	catalog *catalog.Service
	cvv2    *cvv2.Service
	reissue *reissue.Service
	api     *rest.Server
	console *console.Console // nil when CARDHOST_CONSOLE=false
	engine  *host.Engine
	hooks   *webhook.Dispatcher
	iso     *isoserver.Server
	sim     *sandbox.Simulator

	httpLn net.Listener
	isoLn  net.Listener
	// simCert is the sandbox simulator's client certificate when the ISO
	// port requires one (mutual TLS); nil otherwise.
	simCert *tls.Certificate

	// SandboxKey is the API key of the sandbox tenant created on this start
	// ("" when it already existed); printed once.
	SandboxKey string
}

// openDB opens (creating and migrating) the database; its errors name
// the database (without password) and ask whether PostgreSQL runs.
func openDB(ctx context.Context, cfg Config, log *slog.Logger) (*postgres.DB, error) {
	db, err := postgres.Open(ctx, postgres.Config{
		URL:              cfg.DatabaseURL,
		CreateDatabase:   true,
		MaxConns:         int32(cfg.DBMaxConns),
		CommitWorkers:    cfg.DBCommitWorkers,
		CommitBatch:      cfg.DBCommitBatch,
		StatementTimeout: cfg.DBTimeout,
	}, log)
	return db, startup.Database(cfg.DatabaseURL, err)
}

// openHSM opens the software HSM over the database key store
// (startup.OpenHSM: a sandbox master key file is generated only for a
// database that holds no key, and keys under another master key stop the
// start).
func openHSM(ctx context.Context, cfg Config, db *postgres.DB, log *slog.Logger) (*softhsm.HSM, error) {
	return startup.OpenHSM(ctx, startup.HSMConfig{Sandbox: cfg.Mode == "sandbox", MasterKeyHex: cfg.MasterKeyHex,
		MasterKeyFile: cfg.MasterKeyFile, CacheTTL: cfg.KeyCacheTTL, LegacyDirs: []string{".cardhost"}}, db.KeyStore(), log)
}

// openApp builds every component and binds the listeners; run serves.
func openApp(ctx context.Context, cfg Config, log *slog.Logger, out io.Writer) (a *App, err error) {
	a = &App{cfg: cfg, log: log, out: out, reg: prometheus.NewRegistry()}
	defer func() {
		if err != nil {
			a.close()
		}
	}()
	a.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if err = a.bind(); err != nil { // a taken port stops the start before anything is written
		return a, err
	}
	if cfg.Mode == "production" && len(cfg.KafkaBrokers) > 0 { // brokers all down would half-start: the relay retries for ever
		ping := func(ctx context.Context) error { return outbox.Ping(ctx, outbox.Config{Brokers: cfg.KafkaBrokers}) }
		if err = startup.Kafka(ctx, cfg.KafkaBrokers, 10*time.Second, ping); err != nil {
			return a, err
		}
	}
	if a.db, err = openDB(ctx, cfg, log); err != nil {
		return a, err
	}
	a.ledger = hostpg.New(a.db)
	if a.hsm, err = openHSM(ctx, cfg, a.db, log); err != nil {
		return a, err
	}
	if a.svc, err = newService(ctx, a); err != nil {
		return a, err
	}
	if cfg.Mode == "sandbox" {
		if a.SandboxKey, err = a.seeder().Bootstrap(ctx, a.svc); err != nil {
			return a, err
		}
	}

	var warnings map[string]string
	if a.broker != nil && cfg.Mode == "production" {
		warnings = map[string]string{"kafka": embeddedKafkaWarning}
		log.Warn(embeddedKafkaWarning, "addr", a.brokers)
	}
	a.relay, err = outbox.New(outbox.Config{Brokers: a.brokers, Topic: cfg.KafkaTopic, Partitions: int32(cfg.KafkaPartitions),
		PollInterval: 250 * time.Millisecond, LagInterval: 5 * time.Second}, a.db.Outbox(), log, a.reg)
	if err != nil {
		return a, err
	}
	webhooks, err := a.openWebhooks()
	if err != nil {
		return a, err
	}
	a.db.SetAfterCommit(func() { a.relay.Wake(); a.hooks.Wake() })

	if err := a.openHost(log, webhooks); err != nil {
		return a, err
	}

	// Idempotent requests are compared by an HMAC under a key every
	// instance derives from the master key (a card import's body holds a PAN).
	rhk, err := a.hsm.DeriveSecret("rest-idempotency-request-hash")
	if err != nil {
		return a, err
	}
	money := ledger.NewService(ledger.Deps{Store: a.db, Cards: a.db, Logger: log})
	a.api, err = rest.New(rest.Config{BodyLimit: cfg.HTTPBodyLimit, RateLimit: cfg.HTTPRateLimit, AuthFailureLimit: cfg.HTTPAuthFailures, TrustedProxies: cfg.HTTPTrustedProxies, ReadTimeout: cfg.HTTPReadTimeout,
		RequestTimeout: cfg.HTTPRequestTimeout, Sandbox: cfg.Mode == "sandbox", Version: version, RequestHashKey: rhk, ReadyWarnings: warnings},
		rest.Deps{
			Tenants: a.db, Idempotency: a.db, Service: a.svc, Catalog: a.catalog, CA: a.ca, CVV2: a.cvv2, Reissue: a.reissue,
			Authorizations: a.ledger, Simulator: a.newSimulator(), Webhooks: webhooks,
			DecisionsChanged: a.engine.RefreshDecisionEndpoints,
			Ledger:           money,
			SubAccounts:      subaccount.New(a.db, issuance.Deps{Logger: log}),
			IsUnavailable:    postgres.IsUnavailable,
			Ready: []rest.ReadyCheck{
				{Name: "postgres", Check: a.db.Ping},
				{Name: "hsm", Check: a.hsm.CheckMasterKey}, // every stored key opens under this master key
				{Name: "outbox", Check: a.outboxReady},
			},
		}, log, a.reg, a.reg)
	if err != nil {
		return a, err
	}
	if cfg.Console {
		if a.console, err = console.New(console.Config{IdleTimeout: cfg.ConsoleIdleTimeout, Sandbox: cfg.Mode == "sandbox"},
			console.Deps{API: a.api, Sessions: a.db, Service: a.svc, Catalog: a.catalog, Records: a.ledger, Webhooks: webhooks, Money: money}, log); err != nil {
			return a, err
		}
		a.console.Mount(a.api.App())
	}
	return a, nil
}

// bind takes the REST and ISO 8583 ports and starts the embedded Kafka
// broker when no KAFKA_BROKERS are set (in production only with the
// opt-in checkServe asked for), before anything else opens: a taken
// address stops the start naming its setting.
func (a *App) bind() (err error) {
	if a.httpLn, err = startup.Listen(a.cfg.HTTPAddr, a.cfg.HTTPTLSCert, a.cfg.HTTPTLSKey, ""); err != nil {
		err = startup.TLSFiles("REST", startup.Setting{Env: "CARDHOST_HTTP_TLS_CERT", Flag: "http-tls-cert"}, startup.Setting{Env: "CARDHOST_HTTP_TLS_KEY", Flag: "http-tls-key"}, err)
		return startup.AddrInUse("REST API", a.cfg.HTTPAddr, startup.Setting{Env: "CARDHOST_HTTP_ADDR", Flag: "http-addr"}, fmt.Errorf("listening for HTTP: %w", err))
	}
	if a.isoLn, err = net.Listen("tcp", a.cfg.ISOAddr); err != nil {
		return startup.AddrInUse("ISO 8583", a.cfg.ISOAddr, startup.Setting{Env: "CARDHOST_ISO_ADDR", Flag: "iso-addr"}, fmt.Errorf("listening for ISO 8583: %w", err))
	}
	if a.brokers = a.cfg.KafkaBrokers; len(a.brokers) > 0 {
		return nil
	}
	a.broker, err = embedded.Start(embedded.Config{Addr: a.cfg.EmbeddedKafkaAddr, Topic: a.cfg.KafkaTopic,
		Partitions: int32(a.cfg.KafkaPartitions), Logger: a.log.With("component", "kafka")})
	if err != nil {
		return startup.AddrInUse("embedded Kafka", a.cfg.EmbeddedKafkaAddr, startup.Setting{Env: "CARDHOST_EMBEDDED_KAFKA_ADDR", Flag: "embedded-kafka-addr"}, fmt.Errorf("starting embedded Kafka: %w", err))
	}
	a.brokers = a.broker.Addrs()
	return nil
}

// openHost builds the authorization engine and the ISO 8583 server.
func (a *App) openHost(log *slog.Logger, w *webhook.Service) error {
	keys := a.svc.Keys()
	if keys.PANIndex == "" {
		return errors.New("no PAN index key assigned: run `cardhost keys generate --type PAN-IDX` and `cardhost keys assign --role pan-idx --ref REF` (sandbox mode does this by itself)")
	}
	steps, err := isoserver.NewStepMetrics(a.reg)
	if err != nil {
		return err
	}
	hc := host.Config{PANIndexRef: keys.PANIndex, Merchants: a.cfg.CNPMerchants, HoldExpiry: a.cfg.HoldExpiry, HoldExpiryLong: a.cfg.HoldExpiryLong, Decisions: a.decisions(w)}
	if a.engine, err = host.New(hc, a.ledger, a.hsm, log, steps); err != nil {
		return err
	}
	fp, err := a.hsm.DeriveSecret("iso-retransmission-fingerprint")
	if err != nil {
		return err
	}
	ic := isoserver.Config{
		MaxConnections: a.cfg.ISOMaxConns, MaxInFlight: a.cfg.ISOMaxInFlight, IdleTimeout: a.cfg.ISOIdleTimeout,
		ReadTimeout: a.cfg.ISOReadTimeout, DecisionTimeout: a.cfg.ISODecisionTimeout,
		FingerprintKey: fp, ShutdownTimeout: a.cfg.ShutdownTimeout,
		Acquirers: a.engine, MAC: a.hsm, // message authentication (MACs by the HSM)
	}
	if a.cfg.ISOTLSCert != "" {
		if ic.TLS, err = startup.TLSConfig(a.cfg.ISOTLSCert, a.cfg.ISOTLSKey, a.cfg.ISOTLSClientCA); err != nil {
			return startup.TLSFiles("ISO 8583", startup.Setting{Env: "CARDHOST_ISO_TLS_CERT", Flag: "iso-tls-cert"}, startup.Setting{Env: "CARDHOST_ISO_TLS_KEY", Flag: "iso-tls-key"}, err)
		}
		if ic.TLS.ClientCAs != nil && a.cfg.Mode == "sandbox" {
			// The sandbox simulator is an acquirer on our own port: give it
			// a client certificate from a CA that lives only in memory.
			if a.simCert, err = sandbox.SimulatorClientCert(ic.TLS.ClientCAs); err != nil {
				return err
			}
		}
	}
	a.iso, err = isoserver.New(ic, a.engine, log, a.reg)
	return err
}

// openWebhooks builds the webhook service (endpoints, Events API) and the
// dispatcher that delivers events, run as a background job.
func (a *App) openWebhooks() (*webhook.Service, error) {
	store, sandbox := whpg.New(a.db), a.cfg.Mode == "sandbox"
	m, err := sender.NewMetrics(a.reg)
	if err != nil {
		return nil, err
	}
	a.hooks = webhook.NewDispatcher(webhook.Config{Schedule: a.cfg.WebhookSchedule}, store, a.hsm, sender.New(sender.Config{AllowPrivate: sandbox}), m, a.log, nil)
	return webhook.NewService(webhook.Deps{Store: store, Decisions: store, Vault: a.hsm, SealKeyRef: a.svc.Keys().PANDEK, Sandbox: sandbox}), nil
}

// decisions configures the host's real-time authorization decisions: the
// tenants' endpoints from the webhook service, called by a sender of
// their own (its connection pool apart from webhook deliveries').
func (a *App) decisions(w *webhook.Service) host.DecisionsConfig {
	load := func(ctx context.Context) ([]host.DecisionEndpoint, error) {
		eps, err := w.OpenDecisions(ctx)
		out := make([]host.DecisionEndpoint, len(eps))
		for i, e := range eps {
			out[i] = host.DecisionEndpoint{TenantID: e.TenantID, URL: e.URL, Timeout: time.Duration(e.TimeoutMS) * time.Millisecond,
				DefaultApprove: e.DefaultAction == webhook.ActionApprove, Secret: e.Secret}
		}
		return out, err
	}
	caller := sender.New(sender.Config{AllowPrivate: a.cfg.Mode == "sandbox", MaxIdlePerHost: 64, UserAgent: "cardhost-decisions/1"})
	return host.DecisionsConfig{Load: load, Caller: caller}
}

// newSimulator returns the sandbox simulator (nil outside sandbox mode).
func (a *App) newSimulator() rest.Simulator {
	if a.cfg.Mode != "sandbox" {
		return nil
	}
	_, port, _ := net.SplitHostPort(a.ISOAddr())
	a.sim = &sandbox.Simulator{Addr: net.JoinHostPort("127.0.0.1", port), TLS: a.cfg.ISOTLSCert != "", ClientCert: a.simCert,
		Ledger: a.ledger, Vault: a.hsm, DEKRef: a.svc.Keys().PANDEK, Engine: a.engine}
	return a.sim
}

// seeder seeds the sandbox with the app's database and HSM, reporting to
// the operator's output.
func (a *App) seeder() *sandbox.Seeder {
	return &sandbox.Seeder{DB: a.db, HSM: a.hsm, Log: a.log, Out: a.out}
}

// ISOAddr is the ISO 8583 listener's address.
func (a *App) ISOAddr() string { return a.isoLn.Addr().String() }

// outboxReady fails when events are stuck: the oldest unsent event is
// older than CARDHOST_OUTBOX_MAX_LAG (Kafka unreachable or the relay down).
func (a *App) outboxReady(ctx context.Context) error {
	n, oldest, err := a.db.Outbox().Lag(ctx)
	if err != nil {
		return err
	}
	if n > 0 && time.Since(oldest) > a.cfg.OutboxMaxLag {
		return fmt.Errorf("%d events unpublished, oldest %s ago", n, time.Since(oldest).Round(time.Second))
	}
	return nil
}

// HTTPAddr is the REST listener's address.
func (a *App) HTTPAddr() string { return a.httpLn.Addr().String() }

// Brokers are the Kafka seed brokers in use.
func (a *App) Brokers() []string { return a.brokers }

// run serves until ctx ends, then shuts down gracefully: stop accepting,
// answer what is in flight, flush the relay. It returns the first error of
// a component that failed on its own.
func (a *App) run(ctx context.Context) error {
	errc := make(chan error, 4)
	relayCtx, stopRelay := context.WithCancel(context.WithoutCancel(ctx))
	defer stopRelay()
	relayDone := make(chan struct{})
	go func() {
		defer close(relayDone)
		if a.broker != nil { // its log is in memory only: refill it before new events
			since := time.Now().Add(-embedded.DefaultRetentionTime)
			if n, err := a.relay.Replay(relayCtx, a.db.Outbox(), since); err != nil || n > 0 {
				a.log.Info("replayed published events from the outbox into the embedded Kafka broker", "events", n, "since", since.UTC(), "err", err)
			}
		}
		if err := a.relay.Run(relayCtx); err != nil && !errors.Is(err, context.Canceled) {
			errc <- fmt.Errorf("outbox relay: %w", err)
		}
	}()
	go func() {
		if err := a.api.Serve(a.httpLn); err != nil {
			errc <- fmt.Errorf("REST server: %w", err)
		}
	}()
	go func() {
		if err := a.iso.Serve(a.isoLn); err != nil && !errors.Is(err, isoserver.ErrServerClosed) {
			errc <- fmt.Errorf("ISO 8583 server: %w", err)
		}
	}()
	jobsCtx, stopJobs := context.WithCancel(ctx)
	defer stopJobs()
	jobsDone := make(chan struct{})
	background := backgroundJobs(a)
	go func() {
		defer close(jobsDone)
		jobs.Run(jobsCtx, background, a.log)
	}()
	a.log.Info("cardhost serving", "mode", a.cfg.Mode, "http", a.HTTPAddr(), "iso8583", a.ISOAddr(), "kafka", a.brokers)
	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	a.log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	defer cancel()
	isoDone := make(chan struct{})
	go func() { // both ports stop accepting at once and answer what is in flight
		defer close(isoDone)
		if err := a.iso.Shutdown(sctx); err != nil {
			a.log.Error("ISO 8583 shutdown", "err", err)
		}
	}()
	a.console.Shutdown() // live streams end, so the HTTP server can drain
	if err := a.api.Shutdown(sctx); err != nil {
		a.log.Error("REST shutdown", "err", err)
	}
	<-isoDone
	stopJobs()
	<-jobsDone
	if a.sim != nil {
		a.sim.Close()
	}
	stopRelay()
	<-relayDone
	if err := a.relay.Flush(sctx); err != nil {
		a.log.Error("flushing outbox relay", "err", err)
	}
	return runErr
}

// close releases everything opened.
func (a *App) close() {
	if a.relay != nil {
		a.relay.Close()
	}
	if a.broker != nil {
		a.broker.Close()
	}
	if a.httpLn != nil {
		a.httpLn.Close()
	}
	if a.isoLn != nil {
		a.isoLn.Close()
	}
	if a.db != nil {
		a.db.Close()
	}
}

// runServe is `cardhost serve`.
func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg, code := parseConfig("serve", args, getenv, stderr)
	if code >= 0 {
		return code
	}
	log := newLogger(cfg, stderr)
	log.Debug("garbage collector target", "gogc", startup.TuneGC(getenv))
	a, err := openApp(ctx, cfg, log, stdout)
	if startup.IsProblem(err) {
		fmt.Fprintf(stderr, "cardhost serve: %v\n", err)
		return 2
	}
	if err != nil {
		log.Error("starting cardhost", "err", err)
		return 1
	}
	defer a.close()
	if a.SandboxKey != "" {
		fmt.Fprintf(stdout, "sandbox tenant created; its API key (shown only now):\n\n  %s\n\n", a.SandboxKey)
	}
	if err := a.run(ctx); err != nil {
		log.Error("cardhost stopped", "err", err)
		return 1
	}
	return 0
}

// runMigrate is `cardhost migrate`.
func runMigrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg, code := parseConfig("migrate", args, getenv, stderr)
	if code >= 0 {
		return code
	}
	db, err := openDB(ctx, cfg, newLogger(cfg, stderr))
	if err != nil {
		fmt.Fprintln(stderr, "cardhost migrate:", err)
		if startup.IsProblem(err) {
			return 2
		}
		return 1
	}
	db.Close()
	fmt.Fprintln(stdout, "database is up to date")
	return 0
}
