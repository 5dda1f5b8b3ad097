package startup

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

func TestRedactURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"postgres://app:s3cret@db:5432/cardhost?sslmode=disable", "postgres://app:xxxxx@db:5432/cardhost?sslmode=disable"},
		{"postgres://db/cardhost?password=s3cret&sslmode=disable", "postgres://db/cardhost?password=xxxxx&sslmode=disable"},
		{"host=db user=app password=s3cret dbname=cardhost", "host=db user=app password=xxxxx dbname=cardhost"},
		{"host=db password='s 3cret' dbname=cardhost", "host=db password=xxxxx dbname=cardhost"},
		{"postgres://postgres@127.0.0.1:5432/cardhost", "postgres://postgres@127.0.0.1:5432/cardhost"},
	} {
		if got := RedactURL(tc.in); got != tc.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestDefaultDataDir(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"HOME": "/home/ada"}, "/home/ada/.local/state/cardhost"},
		{map[string]string{"HOME": "/home/ada", "XDG_STATE_HOME": "/var/state"}, "/var/state/cardhost"},
		{map[string]string{"HOME": "/home/ada", "XDG_STATE_HOME": "relative"}, "/home/ada/.local/state/cardhost"},
	} {
		if got, err := DefaultDataDir(env(tc.env)); err != nil || got != tc.want {
			t.Errorf("DefaultDataDir(%v) = %q, %v; want %q", tc.env, got, err, tc.want)
		}
	}
	if _, err := DefaultDataDir(env(nil)); !errors.Is(err, ErrNoDataDir) || !strings.Contains(err.Error(), "CARDHOST_DATA_DIR") {
		t.Errorf("no HOME: %v", err)
	}
}

func TestAddrInUse(t *testing.T) {
	s := Setting{"CARDHOST_ISO_ADDR", "iso-addr"}
	if err := AddrInUse("ISO 8583", ":8583", s, syscall.EADDRINUSE); !IsProblem(err) || !strings.Contains(err.Error(), "CARDHOST_ISO_ADDR (--iso-addr)") {
		t.Errorf("address in use: %v", err)
	}
	other := errors.New("permission denied")
	if err := AddrInUse("ISO 8583", ":8583", s, other); err != other {
		t.Errorf("another error became %v", err)
	}
}

// TestDatabaseRefused: PostgreSQL answered and refused the role, its
// password or the database: a setting (DATABASE_URL without password),
// not a question whether PostgreSQL runs. A privilege refused after
// connecting (a migration) is not a setting.
func TestDatabaseRefused(t *testing.T) {
	const url = "postgres://nobody:s3cret@db:5432/cardhost"
	for _, tc := range []struct {
		name    string
		err     error
		problem bool
	}{
		{"unknown role", fmt.Errorf("connecting to database: %w", &pgconn.PgError{Severity: "FATAL", Code: "28000", Message: `role "nobody" does not exist`}), true},
		{"wrong password", fmt.Errorf("connecting to database: %w", &pgconn.PgError{Severity: "FATAL", Code: "28P01", Message: `password authentication failed for user "nobody"`}), true},
		{"no database", fmt.Errorf("connecting to database: %w", &pgconn.PgError{Severity: "FATAL", Code: "3D000", Message: `database "cardhost" does not exist`}), true},
		{"may not create the database", fmt.Errorf(`creating database "cardhost": %w`, &pgconn.PgError{Code: "42501", Message: "permission denied to create database"}), true},
		{"a migration refused", fmt.Errorf("applying migration 12: %w", &pgconn.PgError{Code: "42501", Message: "permission denied for schema public"}), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Database(url, tc.err)
			if !tc.problem {
				if err != tc.err {
					t.Fatalf("became %v", err)
				}
				return
			}
			msg := err.Error()
			if !IsProblem(err) || !strings.Contains(msg, "refused the role or database of DATABASE_URL postgres://nobody:xxxxx@db:5432/cardhost") ||
				!strings.Contains(msg, "DATABASE_URL (--database-url)") || strings.Contains(msg, "s3cret") || strings.Contains(msg, "PostgreSQL running") {
				t.Fatalf("%v", err)
			}
		})
	}
}

// TestKafka: no broker answering is a problem naming KAFKA_BROKERS and
// the addresses tried, never credentials; an answer is nil.
func TestKafka(t *testing.T) {
	brokers := []string{"u:s3cret@k1:9092", "k2:9092"}
	err := Kafka(context.Background(), brokers, time.Second, func(ctx context.Context) error {
		if _, ok := ctx.Deadline(); !ok {
			t.Error("no deadline")
		}
		return errors.New("dial tcp u:s3cret@k1:9092: no such host")
	})
	if msg := fmt.Sprint(err); !IsProblem(err) || !strings.Contains(msg, "KAFKA_BROKERS (--kafka-brokers)") || !strings.Contains(msg, "tried k1:9092, k2:9092") ||
		!strings.Contains(msg, "within 1s") || strings.Contains(msg, "s3cret") {
		t.Fatalf("%v", err)
	}
	if err := Kafka(context.Background(), brokers, time.Second, func(context.Context) error { return nil }); err != nil {
		t.Fatalf("a broker answered: %v", err)
	}
}
