package admin

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/emv/pinblock"
	"github.com/cardhost/cardhost/host"
	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/postgres"
)

const acquirersUsage = `usage:
  cardhost acquirers add --id ID --name NAME --zpk-ref REF [--zak-ref REF] [--mac-required=BOOL] [--pin-formats LIST]
  cardhost acquirers update --id ID [--name NAME] [--zpk-ref REF] [--zak-ref REF] [--mac-required=BOOL] [--pin-formats LIST]
  cardhost acquirers list

An acquirer is known by its field 32 (acquiring institution id, 1 to 11
digits, matched exactly as sent). PIN blocks in its field 52 are read under
its zone PIN key (ZPK), which must be a shared key of type ZPK: generate it
or import it with 'cardhost keys'.
With a zone MAC key (--zak-ref, a shared key of type ZAK) its messages are
authenticated: the MAC in field 64 (128 with a secondary bitmap) is verified
(ISO 9797-1 MAC algorithm 3) and the answers carry one. --mac-required
(default true with a ZAK) refuses messages without a MAC (63 mac_missing);
false accepts them while the acquirer rolls MACs out (a MAC sent is still
verified). update --zak-ref "" removes the ZAK.
--pin-formats lists the ISO 9564 PIN block formats its field 52 may be in:
0, 1, 3 (default 0,3: bound to the PAN). Format 1 (not bound to the PAN) is
refused (63 pin_block_format_not_allowed) unless listed.
Running hosts apply a change within a minute (docs/operations.md, "Acquirers").
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

// parsePINFormats reads --pin-formats: a comma-separated list of 0, 1, 3.
func parsePINFormats(s string) ([]pinblock.Format, error) {
	var out []pinblock.Format
	for _, p := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil {
			return nil, fmt.Errorf("--pin-formats must list PIN block formats such as 0,3 (got %q)", s)
		}
		out = append(out, pinblock.Format(n))
	}
	if err := host.CheckPINFormats(out); err != nil {
		return nil, fmt.Errorf("--pin-formats: %w", err)
	}
	return out, nil
}

// formatList prints PIN block formats as "0,3".
func formatList(fs []pinblock.Format) string {
	if len(fs) == 0 {
		fs = host.DefaultPINFormats
	}
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = strconv.Itoa(int(f))
	}
	return strings.Join(parts, ",")
}

// Acquirers is `cardhost acquirers ...`. Exit codes: 0 done, 1 failure,
// 2 bad input.
func Acquirers(ctx context.Context, args []string, load Load, stdout, stderr io.Writer) int {
	var id, name, zpk, zak, formats *string
	var macRequired *bool
	sub, env, fs, code := command("acquirers", acquirersUsage, map[string][]string{
		"add":    {"id", "name", "zpk-ref", "zak-ref", "mac-required", "pin-formats"},
		"update": {"id", "name", "zpk-ref", "zak-ref", "mac-required", "pin-formats"},
		"list":   nil,
	}, args, load, stderr, func(fs *flag.FlagSet) {
		id = fs.String("id", "", "field 32 value, 1 to 11 digits")
		name = fs.String("name", "", "acquirer name")
		zpk = fs.String("zpk-ref", "", "reference of the acquirer's zone PIN key (type ZPK, shared)")
		zak = fs.String("zak-ref", "", "reference of the acquirer's zone MAC key (type ZAK, shared; optional)")
		macRequired = fs.Bool("mac-required", false, "refuse messages without a MAC (default: true when the acquirer has a ZAK)")
		formats = fs.String("pin-formats", "", "PIN block formats field 52 may be in, e.g. 0,3 (default) or 0,1,3")
	})
	if code >= 0 {
		return code
	}
	bad := badInput(fs, stderr)
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var pinFormats []pinblock.Format
	if set["pin-formats"] {
		var err error
		if pinFormats, err = parsePINFormats(*formats); err != nil {
			return bad("%v", err)
		}
	}
	switch sub {
	case "add":
		switch {
		case !validAcquirerID(*id):
			return bad("--id must be 1 to 11 digits (ISO 8583 field 32)")
		case *name == "":
			return bad("--name is required")
		case *zpk == "":
			return bad("--zpk-ref is required")
		}
	case "update":
		switch {
		case !validAcquirerID(*id):
			return bad("--id must be 1 to 11 digits (ISO 8583 field 32)")
		case !set["name"] && !set["zpk-ref"] && !set["zak-ref"] && !set["mac-required"] && !set["pin-formats"]:
			return bad("nothing to update: give --name, --zpk-ref, --zak-ref, --mac-required or --pin-formats")
		case set["name"] && *name == "":
			return bad("--name cannot be empty")
		case set["zpk-ref"] && *zpk == "":
			return bad("--zpk-ref cannot be empty")
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
		return listAcquirers(ctx, db, stdout, stderr)
	case "add":
		a := postgres.Acquirer{ID: *id, Name: *name, ZPKRef: *zpk, ZAKRef: *zak, PINFormats: pinFormats, CreatedAt: time.Now().UTC()}
		a.MACRequired = *zak != ""
		if set["mac-required"] {
			a.MACRequired = *macRequired
		}
		if code := checkAcquirer(ctx, db, a, bad, stderr); code >= 0 {
			return code
		}
		err := db.CreateAcquirer(ctx, a)
		if errors.Is(err, issuance.ErrConflict) {
			return bad("acquirer %s exists", *id)
		}
		if err != nil {
			fmt.Fprintln(stderr, "cardhost acquirers add:", err)
			return 1
		}
		fmt.Fprintf(stdout, "acquirer %s (%s) added, ZPK %s, %s\n", a.ID, a.Name, a.ZPKRef, describeSecurity(a))
	case "update":
		a, err := db.Acquirer(ctx, *id)
		if errors.Is(err, issuance.ErrNotFound) {
			return bad("no acquirer %s", *id)
		}
		if err != nil {
			fmt.Fprintln(stderr, "cardhost acquirers update:", err)
			return 1
		}
		if set["name"] {
			a.Name = *name
		}
		if set["zpk-ref"] {
			a.ZPKRef = *zpk
		}
		if set["zak-ref"] {
			if a.ZAKRef == "" && *zak != "" {
				a.MACRequired = true // the default with a ZAK
			}
			a.ZAKRef = *zak
			if *zak == "" {
				a.MACRequired = false
			}
		}
		if set["mac-required"] {
			a.MACRequired = *macRequired
		}
		if set["pin-formats"] {
			a.PINFormats = pinFormats
		}
		if code := checkAcquirer(ctx, db, a, bad, stderr); code >= 0 {
			return code
		}
		if err := db.UpdateAcquirer(ctx, a); err != nil {
			fmt.Fprintln(stderr, "cardhost acquirers update:", err)
			return 1
		}
		fmt.Fprintf(stdout, "acquirer %s (%s) updated, ZPK %s, %s; running hosts apply it within a minute\n", a.ID, a.Name, a.ZPKRef, describeSecurity(a))
	}
	return 0
}

// checkAcquirer checks an acquirer's key references (active keys of the
// right type, shared) and settings; it returns -1 when they are right,
// else the exit code after printing why.
func checkAcquirer(ctx context.Context, db *postgres.DB, a postgres.Acquirer, bad func(string, ...any) int, stderr io.Writer) int {
	if a.MACRequired && a.ZAKRef == "" {
		return bad("--mac-required needs a zone MAC key (--zak-ref)")
	}
	for _, k := range []struct {
		flag, ref string
		typ       emv.KeyType
	}{{"--zpk-ref", a.ZPKRef, emv.KeyZPK}, {"--zak-ref", a.ZAKRef, emv.KeyZAK}} {
		if k.ref == "" {
			continue
		}
		meta, err := db.HSMKey(ctx, k.ref)
		switch {
		case errors.Is(err, issuance.ErrNotFound):
			return bad("%s: no active key %s", k.flag, k.ref)
		case err != nil:
			fmt.Fprintln(stderr, "cardhost acquirers:", err)
			return 1
		case meta.Type != k.typ:
			return bad("%s: %s is a %s key, not a %s key", k.flag, k.ref, meta.Type, k.typ)
		case meta.Tenant != "":
			return bad("%s: %s belongs to tenant %s; acquirer keys are shared", k.flag, k.ref, meta.Tenant)
		}
	}
	return -1
}

// describeSecurity says how an acquirer's messages are authenticated and
// which PIN block formats it may send.
func describeSecurity(a postgres.Acquirer) string {
	mac := "no MAC"
	switch {
	case a.MACRequired:
		mac = "ZAK " + a.ZAKRef + ", MAC required"
	case a.ZAKRef != "":
		mac = "ZAK " + a.ZAKRef + ", MAC verified when sent"
	}
	return mac + ", PIN block formats " + formatList(a.PINFormats)
}

func listAcquirers(ctx context.Context, db *postgres.DB, stdout, stderr io.Writer) int {
	as, err := db.Acquirers(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "cardhost acquirers list:", err)
		return 1
	}
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tZPK\tZAK\tMAC\tPIN FORMATS\tCREATED")
	for _, a := range as {
		zakRef, mac := "-", "-"
		if a.ZAKRef != "" {
			zakRef, mac = a.ZAKRef, "optional"
		}
		if a.MACRequired {
			mac = "required"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", a.ID, a.Name, a.ZPKRef, zakRef, mac, formatList(a.PINFormats), a.CreatedAt.Format(time.RFC3339))
	}
	tw.Flush()
	return 0
}
