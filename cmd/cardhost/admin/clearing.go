package admin

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/cardhost/cardhost/host"
	hostpg "github.com/cardhost/cardhost/host/postgres"
	"github.com/cardhost/cardhost/issuance/ledger"
	"github.com/cardhost/cardhost/issuance/postgres"
)

const clearingUsage = `usage:
  cardhost clearing import FILE

Imports a clearing file (docs/ledger.md, "Clearing file"): each record is
matched to its authorization and posted (refunds and reversals credited,
records that match no live hold force-posted and flagged). One line per
record says what it did; a malformed line, an unknown card or a currency
that is not the card's is reported with its line number and skipped, the
rest imported. A file is imported once; importing it again after an
import cut short completes it (each record is applied once). A file
without its header or trailer, or whose trailer count is wrong, is refused
whole. Exit codes: 0 every record applied, 2 some lines refused (the
others applied) or the file refused, 1 failure.
(database and master key flags as for serve)
`

// Clearing is `cardhost clearing import FILE`.
func Clearing(ctx context.Context, args []string, load Load, stdout, stderr io.Writer) int {
	var name string // FILE comes before the configuration flags, which take no arguments
	if len(args) >= 2 && args[0] == "import" && !strings.HasPrefix(args[1], "-") {
		name, args = args[1], append([]string{args[0]}, args[2:]...)
	}
	_, env, fs, code := command("clearing", clearingUsage, map[string][]string{"import": nil}, args, load, stderr, func(*flag.FlagSet) {})
	if code >= 0 {
		return code
	}
	bad := badInput(fs, stderr)
	if name == "" {
		return bad("name one clearing file: cardhost clearing import FILE")
	}
	raw, err := os.ReadFile(name)
	if err != nil {
		return bad("%v", err)
	}
	file, err := ledger.ParseClearing(bytes.NewReader(raw))
	if err != nil {
		return bad("%v: nothing imported", err)
	}
	sum := sha256.Sum256(raw)
	return withDB(ctx, env, fs, stderr, func(db *postgres.DB) int {
		rec, err := db.StartClearingFile(ctx, sum[:], filepath.Base(name), len(file.Records)+len(file.Errors))
		if err != nil {
			fmt.Fprintln(stderr, fs.Name()+":", err)
			return 1
		}
		if rec.FinishedAt != nil {
			fmt.Fprintf(stdout, "%s was imported on %s (%d records: %d applied, %d refused): nothing to do\n", rec.Name,
				rec.FinishedAt.UTC().Format("2006-01-02 15:04:05Z"), rec.Records, rec.Applied, rec.Failed)
			return 0
		}
		hsm, err := env.OpenHSM(ctx, db)
		if err != nil {
			fmt.Fprintln(stderr, fs.Name()+":", err)
			return 1
		}
		defer hsm.Purge()
		keys, err := db.SystemKeys(ctx)
		if err == nil && keys.PANIndex == "" {
			err = errors.New("no PAN index key assigned")
		}
		if err != nil {
			fmt.Fprintln(stderr, fs.Name()+":", err)
			return 1
		}
		eng, err := host.New(host.Config{PANIndexRef: keys.PANIndex}, hostpg.New(db), hsm, env.Log, nil)
		if err != nil {
			fmt.Fprintln(stderr, fs.Name()+":", err)
			return 1
		}
		return importRecords(ctx, eng, db, sum[:], file, stdout, stderr)
	})
}

// importRecords applies a parsed file's records in order, reporting each.
func importRecords(ctx context.Context, eng *host.Engine, db *postgres.DB, sum []byte, file *ledger.ClearingFile, stdout, stderr io.Writer) int {
	failed := len(file.Errors)
	for _, e := range file.Errors {
		fmt.Fprintf(stdout, "line %d: refused: %s\n", e.Line, e.Err)
	}
	counts := map[host.ClearingOutcome]int{}
	for _, r := range file.Records {
		res, err := eng.Clear(ctx, r)
		switch {
		case errors.Is(err, host.ErrUnknownCard), errors.Is(err, host.ErrCurrencyMismatch):
			failed++
			fmt.Fprintf(stdout, "line %d: refused: %v\n", r.Line, err)
			continue
		case err != nil:
			fmt.Fprintf(stderr, "cardhost clearing import: line %d: %v (import it again to go on)\n", r.Line, err)
			return 1
		}
		counts[res.Outcome]++
		flag := ""
		if res.Flagged {
			flag = " (flagged for review)"
		}
		fmt.Fprintf(stdout, "line %d: %s %s %d %s: %s%s, record %s\n", r.Line, r.Type, r.ARN, r.Amount, r.Currency, res.Outcome, flag, res.RecordID)
	}
	applied := len(file.Records) + len(file.Errors) - failed
	if err := db.FinishClearingFile(ctx, sum, applied, failed); err != nil {
		fmt.Fprintln(stderr, "cardhost clearing import:", err)
		return 1
	}
	fmt.Fprintf(stdout, "file %s (%s): %d records, %d applied (%d posted, %d settled, %d force-posted, %d unmatched, %d duplicates), %d refused\n",
		file.Reference, file.Date.Format("2006-01-02"), len(file.Records)+len(file.Errors), applied, counts[host.ClearingPosted],
		counts[host.ClearingSettled], counts[host.ClearingForced], counts[host.ClearingUnmatched], counts[host.ClearingDuplicate], failed)
	if failed > 0 {
		return 2
	}
	return 0
}
