package admin

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/postgres"
)

const acquirersUsage = `usage:
  cardhost acquirers add --id ID --name NAME --zpk-ref REF [--zak-ref REF]
  cardhost acquirers list

An acquirer is known by its field 32 (acquiring institution id, 1 to 11
digits, matched exactly as sent). PIN blocks in its field 52 are read under
its zone PIN key (ZPK), which must be a shared key of type ZPK: generate it
or import it with 'cardhost keys'.
(database and master key flags as for serve)
`

// validAcquirerID: field 32 is n..11.
func validAcquirerID(s string) bool {
	if len(s) == 0 || len(s) > 11 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Acquirers is `cardhost acquirers ...`. Exit codes: 0 done, 1 failure,
// 2 bad input.
func Acquirers(ctx context.Context, args []string, load Load, stdout, stderr io.Writer) int {
	var id, name, zpk, zak *string
	sub, env, fs, code := command("acquirers", acquirersUsage, []string{"add", "list"}, args, load, stderr, func(fs *flag.FlagSet) {
		id = fs.String("id", "", "field 32 value, 1 to 11 digits")
		name = fs.String("name", "", "acquirer name")
		zpk = fs.String("zpk-ref", "", "reference of the acquirer's zone PIN key (type ZPK, shared)")
		zak = fs.String("zak-ref", "", "reference of the acquirer's zone MAC key (type ZAK, shared; optional)")
	})
	if code >= 0 {
		return code
	}
	bad := badInput(fs, stderr)
	if sub == "add" {
		switch {
		case !validAcquirerID(*id):
			return bad("--id must be 1 to 11 digits (ISO 8583 field 32)")
		case *name == "":
			return bad("--name is required")
		case *zpk == "":
			return bad("--zpk-ref is required")
		}
	}
	db, err := env.OpenDB(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "cardhost acquirers:", err)
		return 1
	}
	defer db.Close()
	switch sub {
	case "list":
		as, err := db.Acquirers(ctx)
		if err != nil {
			fmt.Fprintln(stderr, "cardhost acquirers list:", err)
			return 1
		}
		tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tZPK\tZAK\tCREATED")
		for _, a := range as {
			zakRef := a.ZAKRef
			if zakRef == "" {
				zakRef = "-"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", a.ID, a.Name, a.ZPKRef, zakRef, a.CreatedAt.Format(time.RFC3339))
		}
		tw.Flush()
	case "add":
		for _, k := range []struct {
			flag, ref string
			typ       emv.KeyType
		}{{"--zpk-ref", *zpk, emv.KeyZPK}, {"--zak-ref", *zak, emv.KeyZAK}} {
			if k.ref == "" {
				continue
			}
			meta, err := db.HSMKey(ctx, k.ref)
			switch {
			case errors.Is(err, issuance.ErrNotFound):
				return bad("%s: no active key %s", k.flag, k.ref)
			case err != nil:
				fmt.Fprintln(stderr, "cardhost acquirers add:", err)
				return 1
			case meta.Type != k.typ:
				return bad("%s: %s is a %s key, not a %s key", k.flag, k.ref, meta.Type, k.typ)
			case meta.Tenant != "":
				return bad("%s: %s belongs to tenant %s; acquirer keys are shared", k.flag, k.ref, meta.Tenant)
			}
		}
		err := db.CreateAcquirer(ctx, postgres.Acquirer{ID: *id, Name: *name, ZPKRef: *zpk, ZAKRef: *zak, CreatedAt: time.Now().UTC()})
		if errors.Is(err, issuance.ErrConflict) {
			return bad("acquirer %s exists", *id)
		}
		if err != nil {
			fmt.Fprintln(stderr, "cardhost acquirers add:", err)
			return 1
		}
		fmt.Fprintf(stdout, "acquirer %s (%s) added, ZPK %s\n", *id, *name, *zpk)
	}
	return 0
}
