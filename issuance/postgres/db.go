package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cardhost/cardhost/host"
)

// Config configures the PostgreSQL adapter. The zero value of every field
// means its default.
type Config struct {
	// URL is the connection string (pgx format). Required.
	URL string
	// CreateDatabase creates the database named in URL when it does not
	// exist, by connecting to the server's "postgres" database, with
	// collation "C" (byte order). Default false.
	CreateDatabase bool
	// MaxConns is the pool size. Default 4 × GOMAXPROCS (pgxpool's default
	// is max(4, NumCPU)); authorizations hold a connection for one round trip.
	MaxConns int32
	// StatementTimeout bounds every statement (PostgreSQL statement_timeout).
	// Default 5s. A slow or stuck database then fails requests promptly.
	StatementTimeout time.Duration
	// Now returns the current time. Default time.Now (always used as UTC).
	Now func() time.Time
	// CommitBatch is the most authorization commits grouped into one
	// PostgreSQL round trip and transaction (group commit by host/postgres's
	// Ledger). Default 64; 1 disables grouping.
	CommitBatch int
	// CommitWorkers is how many groups host/postgres's Ledger commits at
	// once, each on its own connection (the pool is sized for them). Default
	// 2 (on two cores one or two large groups beat many small ones;
	// docs/PERFORMANCE.md).
	CommitWorkers int
}

// DB is the PostgreSQL adapter: a pgx pool plus the clock. Safe for
// concurrent use.
type DB struct {
	pool   *pgxpool.Pool
	log    *slog.Logger
	now    func() time.Time
	config Config

	outboxOnce sync.Once
	outbox     *Outbox

	afterCommit func()
	// onClose run at Close before the pool closes (OnClose).
	onClose []func()
}

// SetAfterCommit registers a function called after every transaction that
// wrote outbox events commits (the relay's Wake). Call before serving.
func (db *DB) SetAfterCommit(f func()) { db.afterCommit = f }

// Committed notifies the after-commit hook; adapters built on the DB
// (host/postgres) call it after a transaction that wrote outbox events.
func (db *DB) Committed() {
	if db.afterCommit != nil {
		db.afterCommit()
	}
}

// Open connects to PostgreSQL (creating the database first when
// cfg.CreateDatabase is set and it is missing) and runs the embedded
// migrations. It fails when the server is unreachable within ctx.
func Open(ctx context.Context, cfg Config, logger *slog.Logger) (*DB, error) {
	if cfg.URL == "" {
		return nil, errors.New("opening database: empty URL")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if cfg.StatementTimeout == 0 {
		cfg.StatementTimeout = 5 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.CommitBatch <= 0 {
		cfg.CommitBatch = 64
	}
	if cfg.CommitWorkers <= 0 {
		cfg.CommitWorkers = 2
	}
	pcfg, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("parsing DATABASE_URL: %w", errRedacted(err))
	}
	if cfg.MaxConns > 0 {
		pcfg.MaxConns = cfg.MaxConns
	} else if pcfg.MaxConns < int32(cfg.CommitWorkers)+8 {
		pcfg.MaxConns = int32(cfg.CommitWorkers) + 8 // commit workers + REST, relay, look-ups
	}
	pcfg.ConnConfig.RuntimeParams["statement_timeout"] = fmt.Sprint(cfg.StatementTimeout.Milliseconds())
	pcfg.ConnConfig.RuntimeParams["timezone"] = "UTC"
	pcfg.ConnConfig.RuntimeParams["application_name"] = "cardhost"
	if cfg.CreateDatabase {
		if err := createDatabase(ctx, pcfg.ConnConfig, logger); err != nil {
			return nil, err
		}
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to database: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connecting to database: %w", err)
	}
	db := &DB{pool: pool, log: logger.With("component", "postgres"), now: cfg.Now, config: cfg}
	if err := db.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return db, nil
}

// OnClose registers f to run at Close, before the pool closes: the
// host/postgres Ledger stops its commit workers there. Call before serving.
func (db *DB) OnClose(f func()) { db.onClose = append(db.onClose, f) }

// Close closes the pool, waiting for connections in use to be returned.
func (db *DB) Close() {
	for _, f := range db.onClose {
		f()
	}
	if db.outbox != nil {
		db.outbox.Close()
	}
	db.pool.Close()
}

// Config returns the configuration the DB was opened with, defaults
// applied.
func (db *DB) Config() Config { return db.config }

// Ping checks that the database answers (used by /readyz).
func (db *DB) Ping(ctx context.Context) error { return db.pool.Ping(ctx) }

// Now returns the adapter's clock in UTC.
func (db *DB) Now() time.Time { return db.now().UTC() }

// Pool returns the pgx pool, for the adapter's own sub-packages and tests.
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// PoolStats reports the pool's acquired and total connections (metrics).
func (db *DB) PoolStats() (acquired, total int32) {
	s := db.pool.Stat()
	return s.AcquiredConns(), s.TotalConns()
}

func createDatabase(ctx context.Context, cc *pgx.ConnConfig, logger *slog.Logger) error {
	name := cc.Database
	if name == "" || name == "postgres" {
		return nil
	}
	admin := cc.Copy()
	admin.Database = "postgres"
	conn, err := pgx.ConnectConfig(ctx, admin)
	if err != nil {
		return fmt.Errorf("connecting to the PostgreSQL server (its \"postgres\" database, to create %q if missing): %w", name, err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return fmt.Errorf("checking database %q: %w", name, err)
	}
	if exists {
		return nil
	}
	// Collation "C": text compares and sorts byte by byte. cardhost's keys
	// are ASCII identifiers, codes and references, and its other text
	// UTF-8, whose byte order is code point order; PostgreSQL compares C
	// text with memcmp, not through the C library's locale (the indexes
	// of every insert, docs/PERFORMANCE.md), and a C library upgrade that
	// changes a locale's order cannot corrupt them (docs/operations.md).
	// The character classes (LC_CTYPE: upper, lower, ILIKE) stay the
	// server's.
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+" TEMPLATE template0 LC_COLLATE 'C'")
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P04" { // duplicate_database: another instance won the race
		return nil
	}
	if err != nil {
		return fmt.Errorf("creating database %q: %w", name, err)
	}
	logger.Info("created database", "database", name)
	return nil
}

// errRedacted drops the connection string (which may hold a password) from
// a parse error.
func errRedacted(err error) error {
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) {
		return errors.New("invalid connection string")
	}
	return err
}

// inTx runs fn in a transaction, committing when it returns nil.
func (db *DB) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	if err := pgx.BeginFunc(ctx, db.pool, fn); err != nil {
		return err
	}
	db.Committed()
	return nil
}

// isUniqueViolation reports whether err is a unique_violation, optionally
// on the named constraint.
func isUniqueViolation(err error, constraint string) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "23505" {
		return false
	}
	return constraint == "" || pgErr.ConstraintName == constraint
}

// WrapUnavailable wraps host.ErrUnavailable around an error that means the
// database is unreachable or too slow (IsUnavailable), so that the host
// answers 91 rather than 96 for it. Other errors (and nil) are returned as
// they are.
func WrapUnavailable(err error) error {
	if err == nil || errors.Is(err, host.ErrUnavailable) || !IsUnavailable(err) {
		return err
	}
	return fmt.Errorf("%w: %w", host.ErrUnavailable, err)
}

// IsUnavailable reports whether err means the database could not be reached
// or did not answer in time (as opposed to a query that failed). The REST
// adapter answers 503 and the ISO host 91 for these.
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// 57014 query_canceled (statement_timeout), class 08 connection exceptions,
		// 57P01..03 admin shutdown / crash shutdown / cannot connect now.
		return pgErr.Code == "57014" || pgErr.Code[:2] == "08" || pgErr.Code == "57P01" || pgErr.Code == "57P02" || pgErr.Code == "57P03"
	}
	var connErr *pgconn.ConnectError
	if errors.As(err, &connErr) || pgconn.SafeToRetry(err) {
		return true
	}
	// The connection was lost under a statement (server restarted, network
	// cut): pgx returns the read or write error as it came.
	var netErr *net.OpError
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) ||
		errors.As(err, &netErr) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
