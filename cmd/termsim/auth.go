package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/cardhost/cardhost/cmd/termsim/terminal"
	"github.com/cardhost/cardhost/iso"
)

// runAuth implements `termsim auth`. Exit 0: approved (00 or 10) with a
// well-formed answer; 1: declined, no answer, or an answer that breaks the
// host interface (e.g. a missing or wrong ARPC); 2: bad flags.
func runAuth(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("auth", "termsim auth --card FILE | --perso FILE [--host host:port] [--amount 1234] [--entry chip] [--pin 1234] [--cvv2 123] ...", stderr)
	tf := newTerminalFlags(fs)
	var cf cardFlags
	cf.register(fs)
	amount := fs.String("amount", "1000", "amount in minor units (field 4)")
	entry := fs.String("entry", "", "entry mode: chip, contactless, magstripe, fallback, manual, ecommerce (default chip, or magstripe for a card without chip)")
	typ := fs.String("type", "purchase", "transaction: purchase, cash, refund, balance")
	pc := fs.String("processing-code", "", "field 3, six digits (overrides --type: 000000 purchase, 010000 cash, 200000 refund, 300000 balance)")
	mti := fs.String("mti", "", "request MTI: 0100 (default), 0200, 0120, or a repeat (0101, 0201)")
	pin := fs.String("pin", "", "PIN the cardholder enters (field 52); `card` enters the card's own PIN")
	cvv2 := fs.String("cvv2", "", "CVV2 to send in field 48; `card` sends the card's own")
	eci := fs.String("eci", "", "electronic commerce indicator, field 48 element 02 (e.g. 05)")
	cavv := fs.String("cavv", "", "3-D Secure authentication value, 40 hex characters (field 48 element 03)")
	expiry := fs.String("expiry", "", "expiry YYMM to send in field 14 instead of the card's")
	partial := fs.Bool("partial", false, "the terminal accepts a partial approval (field 48 element 04 = Y)")
	if code, stop := parseFlags(fs, args); stop {
		return code
	}
	if fs.NArg() > 0 {
		return reportErr(stderr, "auth", usagef("unexpected argument %q", fs.Arg(0)))
	}
	cfg, err := tf.terminalConfig()
	if err != nil {
		return reportErr(stderr, "auth", err)
	}
	amt, err := parseAmount("--amount", *amount)
	if err != nil {
		return reportErr(stderr, "auth", err)
	}
	opts := terminal.TxnOptions{MTI: *mti, ECI: *eci, CAVV: *cavv, Expiry: *expiry, Partial: *partial}
	if *entry != "" {
		if opts.Entry, err = terminal.ParseEntryMode(*entry); err != nil {
			return reportErr(stderr, "auth", usagef("--entry %q: want chip, contactless, magstripe, fallback, manual or ecommerce", *entry))
		}
	}
	if opts.Type, err = terminal.ParseTxnType(*typ); err != nil {
		return reportErr(stderr, "auth", usagef("--type %q: want purchase, cash, refund or balance", *typ))
	}
	if *pc != "" {
		if len(*pc) != 6 || strings.Trim(*pc, "0123456789") != "" {
			return reportErr(stderr, "auth", usagef("--processing-code must be 6 digits, got %q", *pc))
		}
		opts.Type, opts.AccountTypes = terminal.TxnType((*pc)[:2]), (*pc)[2:]
	}
	if *mti != "" && !iso.ValidMTI(*mti) {
		return reportErr(stderr, "auth", usagef("--mti must be 4 digits, got %q", *mti))
	}
	if opts.Type == terminal.TxnBalance {
		amountSet := false
		fs.Visit(func(f *flag.Flag) { amountSet = amountSet || f.Name == "amount" })
		if !amountSet {
			amt = 0
		}
		if opts.MTI == "" {
			opts.MTI = iso.MTIFinancialRequest
		}
	}
	card, err := cf.load()
	if err != nil {
		return reportErr(stderr, "auth", err)
	}
	opts.PIN, opts.CVV2 = *pin, *cvv2
	if *pin == "card" {
		if opts.PIN = card.PIN.Reveal(); opts.PIN == "" {
			return reportErr(stderr, "auth", usagef("--pin card: the card has no PIN"))
		}
	}
	if *cvv2 == "card" {
		if opts.CVV2 = card.CVV2.Reveal(); opts.CVV2 == "" {
			return reportErr(stderr, "auth", usagef("--cvv2 card: the card has no CVV2"))
		}
	}
	term, err := terminal.NewTerminal(cfg)
	if err != nil {
		return reportErr(stderr, "auth", usagef("%v", err))
	}
	tx, err := term.Request(card, amt, opts)
	if err != nil {
		return reportErr(stderr, "auth", usagef("%v", err))
	}
	// The ATC is used once built: keep it even if the host never answers.
	defer func() {
		if err := card.SaveState(); err != nil {
			fmt.Fprintf(stderr, "termsim auth: %v\n", err)
		}
	}()

	c, err := dial(ctx, tf)
	if err != nil {
		return reportErr(stderr, "auth", err)
	}
	defer c.Close()
	fmt.Fprintf(stdout, "-> %s to %s (%s, %s entry)\n", tx.MTI, c.Addr(), card, tx.Entry)
	terminal.WriteFields(stdout, tx.Msg)
	r, err := c.Do(ctx, tx)
	if err != nil {
		fmt.Fprintf(stdout, "<- no answer: %v\n", err)
		return exitFail
	}
	fmt.Fprintf(stdout, "<- %s in %v\n", r.MTI, r.Latency.Round(time.Microsecond))
	terminal.WriteFields(stdout, r.Response)
	fmt.Fprintln(stdout, r.Decision())
	for _, p := range r.Problems {
		fmt.Fprintf(stdout, "problem: %s\n", p)
	}
	if r.Code.Approved() && r.OK() {
		return exitOK
	}
	return exitFail
}
