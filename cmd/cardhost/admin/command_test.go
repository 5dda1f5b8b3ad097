package admin

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/cardhost/cardhost/issuance/postgres"
)

func TestParseRetireAfter(t *testing.T) {
	for in, want := range map[string]time.Duration{"720h": 720 * time.Hour, "90d": 90 * 24 * time.Hour, "0d": 0} {
		if got, err := parseRetireAfter(in); err != nil || got != want {
			t.Errorf("%s: %v %v, want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"-1d", "xd", "-5h", "soon"} {
		if _, err := parseRetireAfter(in); err == nil {
			t.Errorf("%s: accepted", in)
		}
	}
}

func TestValidAcquirerID(t *testing.T) {
	for id, want := range map[string]bool{"1": true, "00000000001": true, "": false, "123456789012": false, "12a": false} {
		if validAcquirerID(id) != want {
			t.Errorf("%q: %v, want %v", id, !want, want)
		}
	}
}

// TestSubcommand: usage without arguments is bad input (2), after -h it is
// help (0), and an unknown subcommand is refused before any flag is read.
func TestSubcommand(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no arguments", nil, 2, "usage"},
		{"help", []string{"-h"}, 0, "usage"},
		{"unknown", []string{"frob", "--x"}, 2, `cardhost things: unknown subcommand "frob"`},
		{"known", []string{"list", "--x"}, -1, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			sub, rest, fs, code := subcommand("things", "usage\n", tc.args, &stderr, "list")
			if code != tc.code || !strings.Contains(stderr.String(), tc.want) {
				t.Fatalf("code %d, stderr %q; want %d and %q", code, stderr.String(), tc.code, tc.want)
			}
			if code < 0 && (sub != "list" || len(rest) != 1 || fs.Name() != "cardhost things list") {
				t.Fatalf("sub %q rest %v flag set %q", sub, rest, fs.Name())
			}
		})
	}
}

// TestTenantsCreateSandboxInProduction: `tenants create --sandbox` is bad
// input (exit 2) in production mode, refused before the database is
// opened; in sandbox mode it goes on to the database.
func TestTenantsCreateSandboxInProduction(t *testing.T) {
	create := func(mode string) (code int, opened bool, stderr string) {
		var errb bytes.Buffer
		load := func(fs *flag.FlagSet, args []string) (Env, error) {
			return Env{Mode: mode, Log: slog.New(slog.DiscardHandler), OpenDB: func(context.Context) (*postgres.DB, error) {
				opened = true
				return nil, errors.New("no database in this test")
			}}, fs.Parse(args)
		}
		code = Tenants(context.Background(), []string{"create", "--name", "Trial", "--sandbox"}, load, io.Discard, &errb)
		return code, opened, errb.String()
	}
	if code, opened, errs := create("production"); code != 2 || opened || !strings.Contains(errs, "--sandbox is refused in production mode") {
		t.Fatalf("production: exit %d, database opened %v, stderr %q; want 2, refused before the database", code, opened, errs)
	}
	if code, opened, errs := create("sandbox"); code != 1 || !opened {
		t.Fatalf("sandbox: exit %d, database opened %v, stderr %q; want it to reach the database", code, opened, errs)
	}
}
