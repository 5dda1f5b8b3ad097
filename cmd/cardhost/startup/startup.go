// Package startup holds what cardhost checks and explains while it starts:
// where its data folder is by default, opening the HSM master key without
// ever generating a second one for a database that already holds keys,
// listeners whose address is taken, and database errors. Every failure an
// operator fixes by changing a setting (or by starting PostgreSQL) is a
// *Problem: one line that says what is wrong and what to change, which
// the command prints before exiting with code 2.
//
// Ring: wiring, beside cmd/cardhost (nothing but cmd imports it). It may
// import adapters (emv/softhsm) and the standard library; it never reads
// the environment itself: cmd/cardhost's config.go passes getenv in.
package startup

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// Setting names a configuration variable and its flag, as messages show
// them: "CARDHOST_ISO_ADDR (--iso-addr)".
type Setting struct{ Env, Flag string }

// String implements fmt.Stringer.
func (s Setting) String() string { return s.Env + " (--" + s.Flag + ")" }

// Settings that start-up messages name.
var (
	DataDirSetting       = Setting{"CARDHOST_DATA_DIR", "data-dir"}
	MasterKeySetting     = Setting{"CARDHOST_MASTER_KEY", "master-key"}
	MasterKeyFileSetting = Setting{"CARDHOST_MASTER_KEY_FILE", "master-key-file"}
	DatabaseURLSetting   = Setting{"DATABASE_URL", "database-url"}
	KafkaBrokersSetting  = Setting{"KAFKA_BROKERS", "kafka-brokers"}
)

// Problem is a start-up failure that the operator fixes by changing a
// setting or starting a service: What went wrong, and the Fix. Err is the
// underlying cause, if any (shown after the fix; never a secret).
type Problem struct {
	What, Fix string
	Err       error
}

// Error implements error: "what: fix (cause)", on one line.
func (p *Problem) Error() string {
	s := p.What
	if p.Fix != "" {
		s += ": " + p.Fix
	}
	if p.Err != nil {
		s += " (" + oneLine(p.Err.Error()) + ")"
	}
	return s
}

// Unwrap returns the cause.
func (p *Problem) Unwrap() error { return p.Err }

// IsProblem reports whether err is (or wraps) a *Problem.
func IsProblem(err error) bool {
	var p *Problem
	return errors.As(err, &p)
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// DefaultDataDir is the data folder when CARDHOST_DATA_DIR is unset: the
// user's state directory, $XDG_STATE_HOME/cardhost or, without it,
// $HOME/.local/state/cardhost. It never depends on the working directory,
// so that cardhost started from any folder finds the same master key file.
func DefaultDataDir(getenv func(string) string) (string, error) {
	if d := getenv("XDG_STATE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "cardhost"), nil
	}
	if h := getenv("HOME"); filepath.IsAbs(h) {
		return filepath.Join(h, ".local", "state", "cardhost"), nil
	}
	return "", ErrNoDataDir
}

// ErrNoDataDir is DefaultDataDir's problem when the environment names no
// home or state directory.
var ErrNoDataDir = &Problem{What: "no default data folder (neither XDG_STATE_HOME nor HOME is an absolute path)",
	Fix: "set " + DataDirSetting.String() + " to an absolute folder for the master key file and embossing files"}

// keywordPassword matches password=... in a keyword/value connection string.
var keywordPassword = regexp.MustCompile(`(?i)(password\s*=\s*)('[^']*'|\S+)`)

// RedactURL returns a PostgreSQL connection string without its password,
// for messages: the URL form with "xxxxx" for the password, the
// keyword/value form with password=xxxxx.
func RedactURL(s string) string {
	if u, err := url.Parse(s); err == nil && u.Scheme != "" {
		q := u.Query()
		if q.Has("password") {
			q.Set("password", "xxxxx")
			u.RawQuery = q.Encode()
		}
		return u.Redacted()
	}
	return keywordPassword.ReplaceAllString(s, "${1}xxxxx")
}

// Database turns an error of connecting to the database into a *Problem
// naming the database (without its password) and asking whether PostgreSQL
// runs there (or, for a malformed URL, saying so). Other errors (a failed
// migration...), problems and nil are returned as they are.
func Database(dbURL string, err error) error {
	var connErr *pgconn.ConnectError
	var parseErr *pgconn.ParseConfigError
	switch {
	case err == nil || IsProblem(err):
		return err
	case errors.As(err, &parseErr) || strings.HasPrefix(err.Error(), "parsing DATABASE_URL"):
		return &Problem{What: "DATABASE_URL is not a PostgreSQL connection string", Fix: "set " + DatabaseURLSetting.String() + " to a URL such as postgres://user@host:5432/cardhost", Err: err}
	case refusedRole(err, connErr):
		return &Problem{What: "the PostgreSQL server refused the role or database of DATABASE_URL " + RedactURL(dbURL),
			Fix: "set " + DatabaseURLSetting.String() + " to a role (user), password and database it accepts, or create them there (createuser, GRANT)", Err: err}
	case !errors.As(err, &connErr) && !errors.Is(err, syscall.ECONNREFUSED) && !errors.Is(err, context.DeadlineExceeded):
		return err // connected: a migration or another fault, not a setting
	}
	what := "cannot open the database " + RedactURL(dbURL)
	fix := "is PostgreSQL running and accepting connections there? Start it (e.g. pg_ctlcluster ... main start) or set " + DatabaseURLSetting.String()
	if errors.Is(err, syscall.ECONNREFUSED) || strings.Contains(err.Error(), "connection refused") {
		what = "nothing accepts connections for the database " + RedactURL(dbURL)
	}
	return &Problem{What: what, Fix: fix, Err: err}
}

// refusedRole reports whether PostgreSQL answered, and refused the role,
// its password or the database (SQLSTATE class 28, 3D000), or refused the
// role the right to connect or to create the database (42501 while
// connecting or creating it): a setting to change, not a server to start.
func refusedRole(err error, connErr *pgconn.ConnectError) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	connecting := errors.As(err, &connErr) || strings.HasPrefix(err.Error(), "creating database")
	return strings.HasPrefix(pgErr.Code, "28") || pgErr.Code == "3D000" || pgErr.Code == "42501" && connecting
}

// Kafka checks, for a production start, that some broker of KAFKA_BROKERS
// answers within timeout (ping asks them; outbox.Ping): the relay would
// otherwise retry unreachable brokers for ever, half-started. When none
// answers it returns a *Problem naming KAFKA_BROKERS and the brokers
// tried (addresses only).
func Kafka(ctx context.Context, brokers []string, timeout time.Duration, ping func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := ping(ctx)
	if err == nil {
		return nil
	}
	tried := make([]string, len(brokers))
	for i, b := range brokers {
		tried[i] = b[strings.LastIndex(b, "@")+1:] // never a user:password@ someone put there
	}
	return &Problem{What: fmt.Sprintf("no Kafka broker of KAFKA_BROKERS answered within %s (tried %s)", timeout, strings.Join(tried, ", ")),
		Fix: "start Kafka there or set " + KafkaBrokersSetting.String() + " to brokers that answer", Err: errors.New(redactAt(err.Error(), brokers, tried))}
}

// redactAt replaces each broker as given by its address alone in s.
func redactAt(s string, brokers, addrs []string) string {
	for i, b := range brokers {
		if b != addrs[i] {
			s = strings.ReplaceAll(s, b, addrs[i])
		}
	}
	return s
}

// AddrInUse turns a listen error into a *Problem naming the setting of
// that address when the address is taken; other errors are returned as
// they are.
func AddrInUse(what, addr string, s Setting, err error) error {
	if !errors.Is(err, syscall.EADDRINUSE) {
		return err
	}
	return &Problem{What: fmt.Sprintf("the %s address %s is in use (another cardhost, or another program)", what, addr),
		Fix: "stop that process or set " + s.String() + " to a free address"}
}
