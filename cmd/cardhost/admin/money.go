package admin

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/ledger"
	"github.com/cardhost/cardhost/issuance/postgres"
)

const fundingUsage = `usage:
  cardhost funding credit --tenant ID --currency CUR --amount N --reference REF --operator NAME --reason TEXT
  cardhost funding debit  --tenant ID --currency CUR --amount N --reference REF --operator NAME --reason TEXT

Credits (money received, e.g. a wire) or debits (money paid out) a tenant's
program balance, in minor units. The movement is audited with the operator
and the reason, published (ledger.funding_credit, ledger.funding_debit) and
made once per reference: running the command again with the same
reference moves nothing. A debit beyond the available balance is refused.
(database flags as for serve)
`

// Money runs the money command cmd (funding, ledger, reports, clearing)
// for `cardhost`.
func Money(ctx context.Context, cmd string, args []string, load Load, stdout, stderr io.Writer) int {
	run := map[string]func(context.Context, []string, Load, io.Writer, io.Writer) int{
		"funding": Funding, "ledger": Ledger, "reports": Reports, "clearing": Clearing}[cmd]
	if run == nil {
		fmt.Fprintf(stderr, "cardhost: unknown command %q\n", cmd)
		return 2
	}
	return run(ctx, args, load, stdout, stderr)
}

// Funding is `cardhost funding credit|debit`. Exit codes: 0 done, 1
// failure, 2 bad input or a refused movement.
func Funding(ctx context.Context, args []string, load Load, stdout, stderr io.Writer) int {
	var tenant, currency, reference, operator, reason *string
	var amount *int64
	sub, env, fs, code := command("funding", fundingUsage, map[string][]string{"credit": {"tenant", "currency", "amount", "reference", "operator", "reason"}, "debit": {"tenant", "currency", "amount", "reference", "operator", "reason"}}, args, load, stderr, func(fs *flag.FlagSet) {
		tenant = fs.String("tenant", "", "tenant id")
		currency = fs.String("currency", "", "ISO 4217 alpha code")
		amount = fs.Int64("amount", 0, "minor units, positive")
		reference = fs.String("reference", "", "the outside reference of the money (a wire's), once per tenant")
		operator = fs.String("operator", "", "who runs the command (audited)")
		reason = fs.String("reason", "", "why (audited)")
	})
	if code >= 0 {
		return code
	}
	if *tenant == "" {
		return badInput(fs, stderr)("--tenant is required")
	}
	return withDB(ctx, env, fs, stderr, func(db *postgres.DB) int {
		return fund(ctx, db, env, fs, sub == "credit", *tenant, ledger.FundingRequest{Currency: *currency, Amount: *amount,
			Reference: *reference, Operator: *operator, Reason: *reason}, stdout, stderr)
	})
}

// withDB opens the database for fn and closes it after (exit 1 when it
// cannot be opened).
func withDB(ctx context.Context, env Env, fs *flag.FlagSet, stderr io.Writer, fn func(*postgres.DB) int) int {
	db, err := env.OpenDB(ctx)
	if err != nil {
		fmt.Fprintln(stderr, fs.Name()+":", err)
		return 1
	}
	defer db.Close()
	return fn(db)
}

func fund(ctx context.Context, db *postgres.DB, env Env, fs *flag.FlagSet, credit bool, tenant string, r ledger.FundingRequest, stdout, stderr io.Writer) int {
	svc := ledger.NewService(ledger.Deps{Store: db, Cards: db, Logger: env.Log})
	m, err := svc.Fund(ctx, tenant, credit, r)
	if errors.Is(err, issuance.ErrNotFound) {
		return badInput(fs, stderr)("no tenant %s", tenant)
	}
	if err != nil {
		return failed(fs, stderr, err)
	}
	fmt.Fprintf(stdout, "%s %d %s: transfer %s; program balance %d -> %d (pending %d, posted %d)\n",
		m.Kind, m.Amount, m.Currency, m.TransferID, m.BalanceBefore, m.BalanceAfter, m.Balance.Pending, m.Balance.Posted)
	return 0
}

// failed prints a command's error: 2 for a rejection (a slug: bad input,
// or a movement the ledger refused), 1 otherwise.
func failed(fs *flag.FlagSet, stderr io.Writer, err error) int {
	fmt.Fprintf(stderr, "%s: %v\n", fs.Name(), err)
	if issuance.SlugOf(err) != "" {
		return 2
	}
	return 1
}

const ledgerUsage = `usage:
  cardhost ledger check

Verifies every invariant of the ledger (docs/ledger.md, "Invariants") in
one snapshot: zero sum per currency, balances equal to their transfers,
no overdraft but by forced postings, holds resolved once, every approval
with its hold or posting. Prints what is wrong and exits 1 if anything is.
(database flags as for serve)
`

// Ledger is `cardhost ledger check`. Exit codes: 0 consistent, 1 a
// violation (or a failure to read), 2 bad input.
func Ledger(ctx context.Context, args []string, load Load, stdout, stderr io.Writer) int {
	_, env, fs, code := command("ledger", ledgerUsage, map[string][]string{"check": nil}, args, load, stderr, func(*flag.FlagSet) {})
	if code >= 0 {
		return code
	}
	return withDB(ctx, env, fs, stderr, func(db *postgres.DB) int { return check(ctx, db, fs, stdout, stderr) })
}

func check(ctx context.Context, db *postgres.DB, fs *flag.FlagSet, stdout, stderr io.Writer) int {
	c := ledger.NewChecker()
	if err := db.CheckLedger(ctx, c); err != nil {
		fmt.Fprintln(stderr, fs.Name()+":", err)
		return 1
	}
	violations, notes := c.Finish()
	for _, n := range notes {
		fmt.Fprintln(stdout, "note:", n)
	}
	for _, v := range violations {
		fmt.Fprintln(stdout, "VIOLATION", v)
	}
	if len(violations) > 0 {
		fmt.Fprintf(stdout, "ledger check failed: %d violations over %d transfers\n", len(violations), c.Transfers())
		return 1
	}
	fmt.Fprintf(stdout, "ledger check passed: %d transfers, every invariant holds\n", c.Transfers())
	return 0
}

const reportsUsage = `usage:
  cardhost reports settlement --date YYYY-MM-DD [--tenant ID] [--json]

The day's settlement per currency (UTC): the clearing records imported that
day, presentments, refunds and reversals, those that matched no
authorization, and the net owed to the networks. Every tenant unless
--tenant names one. (database flags as for serve)
`

// Reports is `cardhost reports settlement`. Exit codes: 0 done, 1
// failure, 2 bad input.
func Reports(ctx context.Context, args []string, load Load, stdout, stderr io.Writer) int {
	var date, tenant *string
	var asJSON *bool
	_, env, fs, code := command("reports", reportsUsage, map[string][]string{"settlement": {"date", "tenant", "json"}}, args, load, stderr, func(fs *flag.FlagSet) {
		date = fs.String("date", "", "the day, YYYY-MM-DD (UTC)")
		tenant = fs.String("tenant", "", "one tenant's records (default: every tenant)")
		asJSON = fs.Bool("json", false, "print the report as JSON")
	})
	if code >= 0 {
		return code
	}
	return withDB(ctx, env, fs, stderr, func(db *postgres.DB) int {
		r, err := ledger.NewService(ledger.Deps{Store: db, Cards: db}).Settlement(ctx, *tenant, *date)
		if err != nil {
			return failed(fs, stderr, err)
		}
		return printSettlement(r, *asJSON, stdout)
	})
}

// printSettlement prints a settlement report as a table or JSON.
func printSettlement(r ledger.SettlementReport, asJSON bool, stdout io.Writer) int {
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			return 1
		}
		return 0
	}
	fmt.Fprintf(stdout, "settlement %s\n", r.Date)
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "CURRENCY\tPRESENTMENTS\tAMOUNT\tREFUNDS\tAMOUNT\tREVERSALS\tAMOUNT\tUNMATCHED\tAMOUNT\tNET\t")
	for _, c := range r.Currencies {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t\n", c.Currency, c.Presentment.Count, c.Presentment.Amount,
			c.Refunds.Count, c.Refunds.Amount, c.Reversals.Count, c.Reversals.Amount, c.Unmatched.Count, c.Unmatched.Amount, c.Net)
	}
	tw.Flush()
	if len(r.Currencies) == 0 {
		fmt.Fprintln(stdout, "no clearing records that day")
	}
	return 0
}
