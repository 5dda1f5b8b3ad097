package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/cardhost/cardhost/cmd/termsim/terminal"
	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/emv/pinblock"
)

// usageError is a bad command line: exit 2 with its message.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// newFlags returns the flag set of `termsim name`: errors and the usage
// (the usage line, then every flag's default) go to stderr.
func newFlags(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("termsim "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: "+usage)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args with fs; it returns (exit code, true) when the
// command must stop (help, or a parse error already reported by fs).
func parseFlags(fs *flag.FlagSet, args []string) (int, bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, true
		}
		return exitUsage, true
	}
	return 0, false
}

// terminalFlags are the flags that shape the terminal (and the
// connection) of auth, load and replay.
type terminalFlags struct {
	host       string
	acquirer   string
	terminalID string
	merchant   string
	country    string
	currency   string
	mcc        string
	zpk        string
	zak        string
	mac        bool
	pinFormat  int
	timeout    time.Duration
}

// newTerminalFlags registers the terminal flags on fs.
func newTerminalFlags(fs *flag.FlagSet) *terminalFlags {
	t := &terminalFlags{}
	t.register(fs)
	return t
}

func (t *terminalFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&t.host, "host", "127.0.0.1:8583", "ISO 8583 host `address`")
	fs.StringVar(&t.acquirer, "acquirer", terminal.DefaultAcquirerID, "acquirer id, field 32 (the sandbox acquirer by default)")
	fs.StringVar(&t.terminalID, "terminal", terminal.DefaultTerminalID, "terminal id, field 41 (8 characters)")
	fs.StringVar(&t.merchant, "merchant", terminal.DefaultMerchantID, "merchant id, field 42 (15 characters)")
	fs.StringVar(&t.country, "country", terminal.DefaultCountry, "acquirer country, field 19 (ISO 3166 numeric)")
	fs.StringVar(&t.currency, "currency", terminal.DefaultCurrency, "currency, field 49 (ISO 4217 numeric)")
	fs.StringVar(&t.mcc, "mcc", terminal.DefaultMCC, "merchant category code, field 18")
	fs.StringVar(&t.zpk, "zpk", "", "acquirer zone PIN key in clear `hex` (default: the sandbox acquirer's published test ZPK)")
	fs.IntVar(&t.pinFormat, "pin-format", 0, "PIN block format of field 52: 0, 1 or 3")
	fs.StringVar(&t.zak, "zak", "", "acquirer zone MAC key in clear `hex`, checks answer MACs (default: the sandbox MAC acquirer's published test ZAK)")
	fs.BoolVar(&t.mac, "mac", false, "MAC every request under the ZAK (fields 64/128), as acquirer "+terminal.DefaultMACAcquirerID+" of the sandbox must")
	fs.DurationVar(&t.timeout, "timeout", 5*time.Second, "how long to wait for each answer (and to connect)")
}

// terminalConfig checks the flags and returns the terminal's configuration.
func (t *terminalFlags) terminalConfig() (terminal.TerminalConfig, error) {
	cfg := terminal.TerminalConfig{TerminalID: t.terminalID, MerchantID: t.merchant, AcquirerID: t.acquirer,
		Country: t.country, Currency: t.currency, MCC: t.mcc}
	if t.host == "" {
		return cfg, usagef("--host is required")
	}
	if t.timeout <= 0 {
		return cfg, usagef("--timeout must be positive, got %v", t.timeout)
	}
	f, err := pinblock.ParseFormat(t.pinFormat)
	if err != nil || f == pinblock.Format4 {
		return cfg, usagef("--pin-format must be 0, 1 or 3, got %d", t.pinFormat)
	}
	cfg.PINFormat = f
	if t.zpk != "" {
		k, err := emv.DecodeHex(t.zpk)
		if err != nil || (len(k) != 16 && len(k) != 24) {
			return cfg, usagef("--zpk must be 32 or 48 hex characters (a double or triple length TDES key)")
		}
		cfg.ZPK = k
	}
	if t.zak != "" {
		k, err := emv.DecodeHex(t.zak)
		if err != nil || len(k) != 16 {
			return cfg, usagef("--zak must be 32 hex characters (a double length TDES key)")
		}
		cfg.ZAK = k
	}
	cfg.MAC = t.mac
	if _, err := terminal.NewTerminal(cfg); err != nil {
		return cfg, usagef("%v", strings.TrimPrefix(err.Error(), "termsim: invalid transaction: "))
	}
	return cfg, nil
}

// cardFlags choose the card: a card file, or a personalisation export.
type cardFlags struct {
	card         string
	perso        string
	transportKey string
	atc          int
}

func (c *cardFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.card, "card", "", "card `file` (JSON or YAML, docs/termsim.md); its ATC is kept in FILE.state")
	fs.StringVar(&c.perso, "perso", "", "personalisation export `file`: the JSON answer of POST /v1/simulator/cards/{id}/perso")
	fs.StringVar(&c.transportKey, "transport-key", "", "transport key in clear `hex` that opens --perso (default: the sandbox tenants' published test key)")
	fs.IntVar(&c.atc, "atc", -1, "start the chip's ATC after this `value` (default: the card file's or its state's)")
}

// load returns the card the flags name.
func (c *cardFlags) load() (*terminal.Card, error) {
	switch {
	case c.card == "" && c.perso == "":
		return nil, usagef("give --card FILE or --perso FILE")
	case c.card != "" && c.perso != "":
		return nil, usagef("give --card or --perso, not both")
	case c.atc > terminal.MaxATC:
		return nil, usagef("--atc must be 0 to %d", terminal.MaxATC)
	}
	var card *terminal.Card
	if c.card != "" {
		var err error
		if card, err = terminal.LoadCard(c.card); err != nil {
			if errors.Is(err, terminal.ErrCard) {
				return nil, usagef("%v", err)
			}
			return nil, err
		}
	} else {
		data, err := os.ReadFile(c.perso)
		if err != nil {
			return nil, fmt.Errorf("reading personalisation export: %w", err)
		}
		p, err := terminal.ParsePersoExport(data)
		if err != nil {
			return nil, usagef("%s: %v", c.perso, err)
		}
		key, err := transportKey(c.transportKey)
		if err != nil {
			return nil, err
		}
		if card, err = p.Open(key); err != nil {
			return nil, usagef("%s: %v", c.perso, err)
		}
		card.SetStatePath(c.perso + terminal.StateSuffix)
		if st, err := terminal.LoadCardState(c.perso + terminal.StateSuffix); err == nil && st > card.ATC() {
			_ = card.SetATC(st)
		}
	}
	if c.atc >= 0 {
		if err := card.SetATC(c.atc); err != nil {
			return nil, usagef("%v", err)
		}
	}
	return card, nil
}

// transportKey decodes --transport-key (default the sandbox key).
func transportKey(h string) ([]byte, error) {
	if h == "" {
		h = terminal.DefaultTransportKeyHex
	}
	k, err := emv.DecodeHex(h)
	if err != nil || len(k) != 32 {
		return nil, usagef("--transport-key must be 64 hex characters (AES-256)")
	}
	return k, nil
}

// parseAmount reads an amount in minor units.
func parseAmount(name, s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, usagef("%s must be a non-negative whole number of minor units, got %q", name, s)
	}
	return n, nil
}

// dial connects to the host with the terminal flags' timeouts.
func dial(ctx context.Context, tf *terminalFlags) (*terminal.Client, error) {
	return terminal.Dial(ctx, tf.host, terminal.ConnectTimeout(tf.timeout), terminal.RequestTimeout(tf.timeout))
}

// reportErr prints err for command name and returns its exit code: 2 for
// usage errors, 1 otherwise.
func reportErr(stderr io.Writer, name string, err error) int {
	fmt.Fprintf(stderr, "termsim %s: %v\n", name, err)
	var ue usageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	return exitFail
}
