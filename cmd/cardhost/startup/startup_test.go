package startup

import (
	"errors"
	"strings"
	"syscall"
	"testing"
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
