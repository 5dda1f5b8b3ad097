package admin

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"log/slog"
	"strings"
	"testing"

	"github.com/cardhost/cardhost/issuance/postgres"
)

// TestTenantsCreateSandboxInProduction: `tenants create --sandbox` is bad
// input (exit 2) in production mode, refused before the database is
// opened; in sandbox mode it goes on to the database.
func TestTenantsCreateSandboxInProduction(t *testing.T) {
	for _, tc := range []struct {
		mode   string
		code   int
		opened bool
	}{
		{"production", 2, false},
		{"sandbox", 1, true},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			var opened bool
			load := func(fs *flag.FlagSet, args []string) (Env, error) {
				return Env{Mode: tc.mode, Log: slog.New(slog.DiscardHandler), OpenDB: func(context.Context) (*postgres.DB, error) {
					opened = true
					return nil, errors.New("no database in this test")
				}}, fs.Parse(args)
			}
			var stdout, stderr bytes.Buffer
			code := Tenants(context.Background(), []string{"create", "--name", "Trial", "--sandbox"}, load, &stdout, &stderr)
			if code != tc.code || opened != tc.opened {
				t.Fatalf("exit %d, database opened %v, stderr %q; want %d, %v", code, opened, stderr.String(), tc.code, tc.opened)
			}
			if tc.mode == "production" && !strings.Contains(stderr.String(), "--sandbox is refused in production mode") {
				t.Fatalf("stderr %q", stderr.String())
			}
		})
	}
}
