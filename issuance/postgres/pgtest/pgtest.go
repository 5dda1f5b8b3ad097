// Package pgtest gives integration tests a fresh, migrated PostgreSQL schema
// from DATABASE_URL (default: the local server), dropped when the test ends.
// Tests using it are skipped under `go test -short`.
//
// It sits in the adapter ring next to issuance/postgres and may be imported
// only from tests.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cardhost/cardhost/issuance/postgres"
)

// DefaultURL is used when DATABASE_URL is unset. Tests run in their own
// database so they never touch a developer's cardhost data.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/cardhost_test?sslmode=disable"

// BaseURL returns the test database URL: CARDHOST_TEST_DATABASE_URL, else
// DATABASE_URL, else DefaultURL. Every test gets its own schema in it.
func BaseURL() string {
	for _, v := range []string{"CARDHOST_TEST_DATABASE_URL", "DATABASE_URL"} {
		if u := os.Getenv(v); u != "" {
			return u
		}
	}
	return DefaultURL
}

// URL creates a fresh empty schema and returns a connection string whose
// search_path selects it; the schema is dropped at the end of the test.
// It skips the test under -short.
func URL(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping PostgreSQL integration test in -short mode")
	}
	base := BaseURL()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Create the test database itself when missing.
	db, err := postgres.Open(ctx, postgres.Config{URL: base, CreateDatabase: true}, nil)
	if err != nil {
		t.Fatalf("pgtest: opening %s: %v (is PostgreSQL running? see README)", redact(base), err)
	}
	db.Close()
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("pgtest: creating schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Logf("pgtest: dropping schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Logf("pgtest: dropping schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("pgtest: parsing URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// New returns a migrated *postgres.DB on a fresh schema, closed at the end of
// the test. cfg.URL is filled in; other fields are passed through.
func New(t testing.TB, cfg postgres.Config) *postgres.DB {
	t.Helper()
	cfg.URL = URL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := postgres.Open(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("pgtest: opening database: %v", err)
	}
	t.Cleanup(db.Close)
	return db
}

func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "DATABASE_URL"
	}
	return p.Redacted()
}
