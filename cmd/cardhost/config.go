package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/cardhost/cardhost/cmd/cardhost/admin"
	"github.com/cardhost/cardhost/cmd/cardhost/startup"
	"github.com/cardhost/cardhost/emv/softhsm"
	"github.com/cardhost/cardhost/host"
	"github.com/cardhost/cardhost/issuance/postgres"
	"github.com/cardhost/cardhost/issuance/webhook"
)

// Config is everything `cardhost serve` (and the other subcommands) can be
// told, read once from flags and CARDHOST_* environment variables. This file
// is the only place that reads the environment.
type Config struct {
	Mode        string // sandbox | production
	DatabaseURL string

	KafkaBrokers      []string // empty: embedded broker
	KafkaTopic        string
	KafkaPartitions   int
	EmbeddedKafkaAddr string
	// EmbeddedKafkaInProduction lets production mode run on the embedded,
	// in-memory broker (single-box trials); default false: production
	// without KafkaBrokers refuses to start (checkServe).
	EmbeddedKafkaInProduction bool

	HTTPAddr string
	ISOAddr  string

	DataDir       string
	MasterKeyHex  string
	MasterKeyFile string

	LogLevel  slog.Level
	LogFormat string // json | text

	HTTPBodyLimit      int
	HTTPRateLimit      int
	HTTPAuthFailures   int
	HTTPTrustedProxies []netip.Prefix
	HTTPReadTimeout    time.Duration
	HTTPRequestTimeout time.Duration
	HTTPTLSCert        string
	HTTPTLSKey         string
	ISOTLSCert         string
	ISOTLSKey          string
	ISOTLSClientCA     string
	ISOMaxConns        int
	ISOMaxInFlight     int
	ISOIdleTimeout     time.Duration
	ISOReadTimeout     time.Duration
	ISODecisionTimeout time.Duration
	DBTimeout          time.Duration
	DBMaxConns         int
	DBCommitWorkers    int
	DBCommitBatch      int
	ShutdownTimeout    time.Duration
	KeyCacheTTL        time.Duration
	PprofAddr          string
	OutboxMaxLag       time.Duration
	OutboxRetention    time.Duration // 0: keep published events forever
	WebhookSchedule    []time.Duration
	// CNPMerchants is the host's guard against BIN attacks (per instance).
	CNPMerchants               host.MerchantGuardConfig
	HoldExpiry, HoldExpiryLong time.Duration // a funded card's hold; the long one at lodging and vehicle rental
	Console                    bool
	ConsoleIdleTimeout         time.Duration
}

// setting is one configuration variable: its environment name, its flag,
// its default and how it is applied. The README's configuration table lists
// exactly these rows (TestREADMEListsEveryVariable).
type setting struct {
	env, flag, def, doc string
	set                 func(c *Config, v string) error
}

var settings = []setting{
	{"CARDHOST_MODE", "mode", "sandbox", "sandbox (creates a tenant, keys and a master key file on first start) or production (needs an explicit master key and KAFKA_BROKERS, creates nothing)",
		oneOf(func(c *Config, v string) { c.Mode = v }, "sandbox", "production")},
	{"DATABASE_URL", "database-url", "postgres://postgres@127.0.0.1:5432/cardhost?sslmode=disable", "PostgreSQL connection string; the database is created if missing and migrated at start",
		func(c *Config, v string) error { c.DatabaseURL = v; return nonEmpty(v) }},
	{"KAFKA_BROKERS", "kafka-brokers", "", "comma-separated Kafka seed brokers; empty starts the embedded in-memory broker (sandbox mode; production refuses to start without brokers unless CARDHOST_EMBEDDED_KAFKA_IN_PRODUCTION)",
		func(c *Config, v string) error { c.KafkaBrokers = splitList(v); return nil }},
	{"CARDHOST_KAFKA_TOPIC", "kafka-topic", "cardhost.events", "topic every event is published to (key = card id)",
		func(c *Config, v string) error { c.KafkaTopic = v; return nonEmpty(v) }},
	{"CARDHOST_KAFKA_PARTITIONS", "kafka-partitions", "12", "partitions of the events topic when cardhost creates it",
		intSetter(func(c *Config, n int) { c.KafkaPartitions = n }, 1, 10000)},
	{"CARDHOST_EMBEDDED_KAFKA_ADDR", "embedded-kafka-addr", "127.0.0.1:9092", "listen address of the embedded Kafka broker (only without KAFKA_BROKERS)",
		addrSetter(func(c *Config, v string) { c.EmbeddedKafkaAddr = v })},
	{"CARDHOST_EMBEDDED_KAFKA_IN_PRODUCTION", "embedded-kafka-in-production", "false", "true lets production mode run on the embedded in-memory broker without KAFKA_BROKERS (single-box trials only: its log is in memory, refilled at start with the outbox's last 24 h only; a WARN line at start and a kafka warning on /readyz)",
		boolSetter(func(c *Config, b bool) { c.EmbeddedKafkaInProduction = b })},
	{"CARDHOST_HTTP_ADDR", "http-addr", ":8080", "REST API listen address",
		addrSetter(func(c *Config, v string) { c.HTTPAddr = v })},
	{"CARDHOST_ISO_ADDR", "iso-addr", ":8583", "ISO 8583 host listen address",
		addrSetter(func(c *Config, v string) { c.ISOAddr = v })},
	{"CARDHOST_DATA_DIR", "data-dir", "", "folder for the sandbox master key file and embossing files; unset: $XDG_STATE_HOME/cardhost, else ~/.local/state/cardhost (never the working directory)",
		func(c *Config, v string) error { c.DataDir = strings.TrimSpace(v); return nil }},
	{"CARDHOST_MASTER_KEY", "master-key", "", "HSM master key, 64 hex characters (AES-256); overrides the key file",
		func(c *Config, v string) error { c.MasterKeyHex = strings.TrimSpace(v); return nil }},
	{"CARDHOST_MASTER_KEY_FILE", "master-key-file", "", "HSM master key file (0600); default <data-dir>/master.key in sandbox mode",
		func(c *Config, v string) error { c.MasterKeyFile = v; return nil }},
	{"CARDHOST_LOG_LEVEL", "log-level", "info", "debug, info, warn or error",
		func(c *Config, v string) error { return c.LogLevel.UnmarshalText([]byte(v)) }},
	{"CARDHOST_LOG_FORMAT", "log-format", "text", "text or json",
		oneOf(func(c *Config, v string) { c.LogFormat = v }, "text", "json")},
	{"CARDHOST_HTTP_BODY_LIMIT", "http-body-limit", "1048576", "largest accepted REST request body, bytes",
		intSetter(func(c *Config, n int) { c.HTTPBodyLimit = n }, 1024, 64<<20)},
	{"CARDHOST_HTTP_RATE_LIMIT", "http-rate-limit", "100", "requests per second per tenant (burst twice that); -1 disables",
		intSetter(func(c *Config, n int) { c.HTTPRateLimit = n }, -1, 1_000_000)},
	{"CARDHOST_HTTP_AUTH_FAILURE_LIMIT", "http-auth-failure-limit", "10", "failed authentications per second per client address (burst twice that) before it is answered 429; off when the rate limit is -1",
		intSetter(func(c *Config, n int) { c.HTTPAuthFailures = n }, 1, 1_000_000)},
	{"CARDHOST_HTTP_TRUSTED_PROXIES", "http-trusted-proxies", "", "load balancers (addresses or CIDR prefixes, comma-separated) whose X-Forwarded-For names the client address",
		func(c *Config, v string) error {
			c.HTTPTrustedProxies = nil
			for _, item := range splitList(v) {
				p, err := netip.ParsePrefix(item)
				if err != nil {
					a, aerr := netip.ParseAddr(item)
					if aerr != nil {
						return fmt.Errorf("%q is not an address or a CIDR prefix", item)
					}
					p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
				}
				c.HTTPTrustedProxies = append(c.HTTPTrustedProxies, p.Masked())
			}
			return nil
		}},
	{"CARDHOST_HTTP_READ_TIMEOUT", "http-read-timeout", "10s", "longest a REST request (headers and body) may take to arrive; slower clients are disconnected",
		durSetter(func(c *Config, d time.Duration) { c.HTTPReadTimeout = d })},
	{"CARDHOST_HTTP_REQUEST_TIMEOUT", "http-request-timeout", "15s", "longest a REST request may take to handle; one still waiting on the database then answers 503",
		durSetter(func(c *Config, d time.Duration) { c.HTTPRequestTimeout = d })},
	{"CARDHOST_HTTP_TLS_CERT", "http-tls-cert", "", "PEM certificate for the REST port (TLS when set with the key)",
		func(c *Config, v string) error { c.HTTPTLSCert = v; return nil }},
	{"CARDHOST_HTTP_TLS_KEY", "http-tls-key", "", "PEM private key for the REST port",
		func(c *Config, v string) error { c.HTTPTLSKey = v; return nil }},
	{"CARDHOST_ISO_TLS_CERT", "iso-tls-cert", "", "PEM certificate for the ISO 8583 port (TLS when set with the key)",
		func(c *Config, v string) error { c.ISOTLSCert = v; return nil }},
	{"CARDHOST_ISO_TLS_KEY", "iso-tls-key", "", "PEM private key for the ISO 8583 port",
		func(c *Config, v string) error { c.ISOTLSKey = v; return nil }},
	{"CARDHOST_ISO_TLS_CLIENT_CA", "iso-tls-client-ca", "", "PEM CA bundle: when set, acquirers must present a client certificate it signed (mutual TLS)",
		func(c *Config, v string) error { c.ISOTLSClientCA = v; return nil }},
	{"CARDHOST_ISO_MAX_CONNECTIONS", "iso-max-connections", "1000", "most concurrent ISO 8583 connections",
		intSetter(func(c *Config, n int) { c.ISOMaxConns = n }, 1, 1_000_000)},
	{"CARDHOST_ISO_MAX_INFLIGHT", "iso-max-inflight", "128", "most requests in flight on one ISO 8583 connection",
		intSetter(func(c *Config, n int) { c.ISOMaxInFlight = n }, 1, 100_000)},
	{"CARDHOST_ISO_IDLE_TIMEOUT", "iso-idle-timeout", "5m", "an ISO 8583 connection silent this long is closed",
		durSetter(func(c *Config, d time.Duration) { c.ISOIdleTimeout = d })},
	{"CARDHOST_ISO_READ_TIMEOUT", "iso-read-timeout", "10s", "longest an ISO 8583 message may take to arrive once its length header has (and a TLS handshake); slower peers are disconnected",
		durSetter(func(c *Config, d time.Duration) { c.ISOReadTimeout = d })},
	{"CARDHOST_ISO_DECISION_TIMEOUT", "iso-decision-timeout", "4s", "longest an authorization may take to decide; then it is answered 91 (keep it well under the acquirers' 5-10 s timeout)",
		durSetter(func(c *Config, d time.Duration) { c.ISODecisionTimeout = d })},
	{"CARDHOST_DB_TIMEOUT", "db-timeout", "2s", "longest a database statement may take (authorizations answer 91 past it)",
		durSetter(func(c *Config, d time.Duration) { c.DBTimeout = d })},
	{"CARDHOST_DB_MAX_CONNS", "db-max-conns", "0", "PostgreSQL pool size; 0 = 4 per CPU",
		intSetter(func(c *Config, n int) { c.DBMaxConns = n }, 0, 10000)},
	{"CARDHOST_DB_COMMIT_WORKERS", "db-commit-workers", "1", "authorization commit groups written at once (group commit; each uses a connection): one makes the largest groups and no two groups wait for each other's locks (docs/PERFORMANCE.md)",
		intSetter(func(c *Config, n int) { c.DBCommitWorkers = n }, 1, 64)},
	{"CARDHOST_DB_COMMIT_BATCH", "db-commit-batch", "64", "most authorization decisions committed in one group (1 disables grouping)",
		intSetter(func(c *Config, n int) { c.DBCommitBatch = n }, 1, 1000)},
	{"CARDHOST_SHUTDOWN_TIMEOUT", "shutdown-timeout", "30s", "how long a graceful shutdown waits for in-flight work",
		durSetter(func(c *Config, d time.Duration) { c.ShutdownTimeout = d })},
	{"CARDHOST_KEY_CACHE_TTL", "key-cache-ttl", "5m", "how long the HSM keeps an unwrapped key in memory",
		durSetter(func(c *Config, d time.Duration) { c.KeyCacheTTL = d })},
	{"CARDHOST_PPROF_ADDR", "pprof-addr", "", "serve Go's /debug/pprof profiles on this address (loopback only; unset: off)",
		func(c *Config, v string) error {
			if v == "" {
				return nil
			}
			host, _, err := net.SplitHostPort(v)
			if err != nil || (host != "127.0.0.1" && host != "localhost" && host != "::1") {
				return errors.New("must be a loopback host:port such as 127.0.0.1:6060")
			}
			c.PprofAddr = v
			return nil
		}},
	{"CARDHOST_CONSOLE", "console", "true", "serve the operator console at /console on the REST port (docs/console.md); false turns it off",
		boolSetter(func(c *Config, b bool) { c.Console = b })},
	{"CARDHOST_CONSOLE_IDLE_TIMEOUT", "console-idle-timeout", "30m", "a console session without a request for this long ends (sign in again)",
		durSetter(func(c *Config, d time.Duration) { c.ConsoleIdleTimeout = d })},
	{"CARDHOST_OUTBOX_MAX_LAG", "outbox-max-lag", "1m", "/readyz reports not ready when the oldest unpublished event is older than this (Kafka unreachable)",
		durSetter(func(c *Config, d time.Duration) { c.OutboxMaxLag = d })},
	{"CARDHOST_OUTBOX_RETENTION", "outbox-retention", "720h", "events are deleted from the outbox table, the Events API's store, this long after they happened, once published and dispatched (0: kept forever); at least 720h, the Events API's 30 days",
		func(c *Config, v string) error {
			d, err := time.ParseDuration(strings.TrimSpace(v))
			if err != nil || d < 0 || d > 0 && d < webhook.DefaultRetention {
				return errors.New("must be a duration of at least 720h (the Events API lists 30 days from the outbox), or 0 to keep events forever")
			}
			c.OutboxRetention = d
			return nil
		}},
	{"CARDHOST_WEBHOOK_RETRY_SCHEDULE", "webhook-retry-schedule", "0s,5s,5m,30m,2h,5h,10h,10h", "delay before each attempt of a webhook delivery (comma-separated durations, jittered by up to 20%); its length is the number of attempts",
		func(c *Config, v string) (err error) { c.WebhookSchedule, err = webhook.ParseSchedule(v); return err }},
	{"CARDHOST_CNP_MERCHANT_CARDS", "cnp-merchant-cards", "10", "BIN-attack guard (in memory, per instance): a merchant (fields 32 and 42) whose card-not-present requests fail verification (unknown card, wrong or missing expiry or CVV2) on this many distinct cards within the window has them declined 59 merchant_blocked for a while; -1 turns the guard off",
		intSetter(func(c *Config, n int) { c.CNPMerchants.Cards = n }, -1, 100_000)},
	{"CARDHOST_CNP_MERCHANT_SHARE", "cnp-merchant-share", "50", "BIN-attack guard: and the failures are at least this percentage of the merchant's card-not-present requests in the window",
		intSetter(func(c *Config, n int) { c.CNPMerchants.Share = n }, 1, 100)},
	{"CARDHOST_CNP_MERCHANT_WINDOW", "cnp-merchant-window", "10m", "BIN-attack guard: how far back failed verifications count",
		durSetter(func(c *Config, d time.Duration) { c.CNPMerchants.Window = d })},
	{"CARDHOST_CNP_MERCHANT_BLOCK", "cnp-merchant-block", "30m", "BIN-attack guard: how long a blocked merchant's card-not-present requests are declined",
		durSetter(func(c *Config, d time.Duration) { c.CNPMerchants.Block = d })},
	{"CARDHOST_HOLD_EXPIRY", "hold-expiry", "168h", "a funded card's hold expires and gives the money back this long after its approval when no capture or clearing posted it (docs/ledger.md)",
		durSetter(func(c *Config, d time.Duration) { c.HoldExpiry = d })},
	{"CARDHOST_HOLD_EXPIRY_LONG", "hold-expiry-long", "744h", "the same for lodging and vehicle rental MCCs (7011, 3501-3999, 7512, 7513, 7519, 3351-3500)",
		durSetter(func(c *Config, d time.Duration) { c.HoldExpiryLong = d })},
}

func nonEmpty(v string) error {
	if strings.TrimSpace(v) == "" {
		return errors.New("must not be empty")
	}
	return nil
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func intSetter(f func(*Config, int), lo, hi int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return errors.New("must be an integer")
		}
		if n < lo || n > hi {
			return fmt.Errorf("must be between %d and %d", lo, hi)
		}
		f(c, n)
		return nil
	}
}

func boolSetter(set func(*Config, bool)) func(*Config, string) error {
	return func(c *Config, v string) error {
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			return errors.New("must be true or false")
		}
		set(c, b)
		return nil
	}
}

func durSetter(f func(*Config, time.Duration)) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil || d <= 0 {
			return errors.New("must be a positive duration such as 500ms, 2s or 5m")
		}
		f(c, d)
		return nil
	}
}

// oneOf accepts exactly one of two values.
func oneOf(f func(*Config, string), a, b string) func(*Config, string) error {
	return func(c *Config, v string) error {
		if v != a && v != b {
			return fmt.Errorf("must be %s or %s", a, b)
		}
		f(c, v)
		return nil
	}
}

func addrSetter(f func(*Config, string)) func(*Config, string) error {
	return func(c *Config, v string) error {
		if _, _, err := net.SplitHostPort(v); err != nil {
			return errors.New("must be host:port (host may be empty)")
		}
		f(c, v)
		return nil
	}
}

// loadConfig reads defaults, then the environment, then flags (flags win),
// validates every value once and returns the Config. Errors name the flag or
// variable, never its value (which may be a secret).
func loadConfig(fs *flag.FlagSet, args []string, getenv func(string) string) (Config, error) {
	vals := make([]string, len(settings))
	for i, s := range settings {
		vals[i] = s.def // the default -h shows: never a value from the environment (it may be a secret)
		fs.Var(startup.NewSettingValue(&vals[i], s.flag, s.def), s.flag, s.doc+" (env "+s.env+")")
		if v, ok := lookup(getenv, s.env); ok {
			vals[i] = v
		}
	}
	fs.Usage = func() { startup.Usage(fs) }
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	var c Config
	for i, s := range settings {
		if err := s.set(&c, vals[i]); err != nil {
			return Config{}, fmt.Errorf("invalid %s (--%s): %w", s.env, s.flag, err)
		}
	}
	if c.Mode == "production" && c.MasterKeyHex == "" && c.MasterKeyFile == "" {
		return Config{}, errors.New("production mode needs an explicit master key: set CARDHOST_MASTER_KEY or CARDHOST_MASTER_KEY_FILE")
	}
	if (c.HTTPTLSCert == "") != (c.HTTPTLSKey == "") {
		return Config{}, errors.New("CARDHOST_HTTP_TLS_CERT and CARDHOST_HTTP_TLS_KEY must be set together")
	}
	if (c.ISOTLSCert == "") != (c.ISOTLSKey == "") {
		return Config{}, errors.New("CARDHOST_ISO_TLS_CERT and CARDHOST_ISO_TLS_KEY must be set together")
	}
	if c.ISOTLSClientCA != "" && c.ISOTLSCert == "" {
		return Config{}, errors.New("CARDHOST_ISO_TLS_CLIENT_CA needs CARDHOST_ISO_TLS_CERT and CARDHOST_ISO_TLS_KEY")
	}
	err := c.resolvePaths(getenv)
	return c, err
}

// resolvePaths makes the data folder and the key file absolute, so that
// logs and messages name them fully and no path depends on where cardhost
// was started: the data folder defaults to the user's state directory.
func (c *Config) resolvePaths(getenv func(string) string) (err error) {
	if c.DataDir == "" {
		if c.DataDir, err = startup.DefaultDataDir(getenv); err != nil {
			c.DataDir, err = "", nil // checkServe refuses it; commands that keep no files do not need it
		}
	}
	if c.DataDir != "" {
		if c.DataDir, err = filepath.Abs(c.DataDir); err != nil {
			return fmt.Errorf("invalid CARDHOST_DATA_DIR (--data-dir): %w", err)
		}
	}
	if c.MasterKeyFile == "" && c.Mode == "sandbox" && c.DataDir != "" {
		c.MasterKeyFile = filepath.Join(c.DataDir, "master.key")
	}
	if c.MasterKeyFile != "" {
		c.MasterKeyFile, err = filepath.Abs(c.MasterKeyFile)
	}
	return err
}

// embeddedKafkaWarning is what a production instance on the embedded broker
// logs at start and /readyz reports under "warnings".
const embeddedKafkaWarning = "production mode on the embedded in-memory Kafka broker (CARDHOST_EMBEDDED_KAFKA_IN_PRODUCTION): its log is in memory, and a restart keeps only the last 24 h of events the outbox still holds; set KAFKA_BROKERS to a Kafka cluster"

// checkServe validates what only `cardhost serve` needs (the operator
// subcommands and migrate do not publish events): production mode runs on
// a Kafka cluster unless the single-box opt-in is set.
func checkServe(c Config) error {
	if c.DataDir == "" {
		return startup.ErrNoDataDir
	}
	if c.Mode == "production" && len(c.KafkaBrokers) == 0 && !c.EmbeddedKafkaInProduction {
		return errors.New("production mode needs a Kafka cluster: set KAFKA_BROKERS (the embedded in-memory broker loses its events on restart; for a single-box trial only, set CARDHOST_EMBEDDED_KAFKA_IN_PRODUCTION=true)")
	}
	return nil
}

func lookup(getenv func(string) string, name string) (string, bool) {
	v := getenv(name)
	return v, v != ""
}

// writeConfigTable prints the variables as a Markdown table (for README).
func writeConfigTable(w io.Writer) {
	fmt.Fprintln(w, "| variable | flag | default | meaning |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for _, s := range settings {
		def := s.def
		if def == "" {
			def = "(unset)"
		}
		fmt.Fprintf(w, "| `%s` | `--%s` | `%s` | %s |\n", s.env, s.flag, def, s.doc)
	}
}

// newLogger builds the process logger from the config.
func newLogger(c Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.LogLevel}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// adminLoad reads the configuration of an operator subcommand (package
// admin) and gives it what it needs: its logger, and how to open the
// database and the HSM as serve does.
func adminLoad(getenv func(string) string, stderr io.Writer) admin.Load {
	return func(fs *flag.FlagSet, args []string) (admin.Env, error) {
		cfg, err := loadConfig(fs, args, getenv)
		if err != nil {
			return admin.Env{}, err
		}
		log := newLogger(cfg, stderr)
		brokers := cfg.KafkaBrokers
		if len(brokers) == 0 {
			brokers = []string{cfg.EmbeddedKafkaAddr}
		}
		return admin.Env{
			Mode: cfg.Mode, Log: log, Brokers: brokers, Topic: cfg.KafkaTopic,
			OpenDB:  func(ctx context.Context) (*postgres.DB, error) { return openDB(ctx, cfg, log) },
			OpenHSM: func(ctx context.Context, db *postgres.DB) (*softhsm.HSM, error) { return openHSM(ctx, cfg, db, log) },
		}, nil
	}
}

// parseConfig parses a subcommand's flags and the environment (and, for
// serve, applies checkServe). It returns code -1 to go on, 0 after -h, 2
// on bad input (message already printed).
func parseConfig(name string, args []string, getenv func(string) string, stderr io.Writer) (Config, int) {
	fs := flag.NewFlagSet("cardhost "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg, err := loadConfig(fs, args, getenv)
	if errors.Is(err, flag.ErrHelp) {
		return cfg, 0
	}
	if err == nil && name == "serve" {
		err = checkServe(cfg)
	}
	if err != nil {
		fmt.Fprintf(stderr, "cardhost %s: %v\n", name, err)
		return cfg, 2
	}
	return cfg, -1
}
