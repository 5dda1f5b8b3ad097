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
	"github.com/cardhost/cardhost/emv/softhsm"
	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/postgres"
)

const keysUsage = `usage:
  cardhost keys list [--type T] [--tenant ID]
  cardhost keys generate --type T [--spec S] [--tenant ID] [--label L]
  cardhost keys import --type T --component HEX --component HEX [--component HEX ...] --kcv KCV
                       [--component-kcv KCV ...] [--spec S] [--tenant ID] [--label L]
  cardhost keys export --ref REF --under KEK_REF
  cardhost keys rotate --ref REF [--retire-after DURATION]
  cardhost keys reindex
  cardhost keys assign --role ROLE --ref REF
  cardhost keys roles

types: IMK-AC IMK-SMI IMK-SMC CVK PVK ZPK ZAK KEK CA ECDH PAN-DEK PAN-IDX
roles: pan-dek pan-idx ca ecdh (platform keys; running instances read them at start)
Hosts find cards under every live version of the pan-idx key and move a card
they serve to the newest; reindex moves the others (run it once rotate says).
Key values are never printed: list shows check values (KCV), export a TR-31
key block under a transport key. Components typed on a command line end up
in the shell history: run import ceremonies from a shell that keeps none.
(database and master key flags as for serve: --database-url, --master-key-file ...)
`

// multiFlag collects a repeated flag. Set never fails and String never
// shows the values, so that the flag package cannot echo a key component.
type multiFlag []string

func (m *multiFlag) String() string     { return "" }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// Type names the flag's values in help texts (each is hex; the flag repeats).
func (m *multiFlag) Type() string { return "hex" }

// keyInputError is a ceremony input the HSM refused: a bad request, not a
// failure (exit code 2).
func keyInputError(err error) bool {
	for _, e := range []error{softhsm.ErrKeySpec, softhsm.ErrInvalidInput, softhsm.ErrKCVMismatch, softhsm.ErrKeyNotFound,
		softhsm.ErrNotExportable, softhsm.ErrKeyUsage, softhsm.ErrKeyExpired, softhsm.ErrKeyExists, softhsm.ErrWeakKey} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// parseRetireAfter reads a Go duration ("720h") or a number of days ("90d").
func parseRetireAfter(s string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n < 0 {
			return 0, errors.New("--retire-after must be a duration such as 720h or 90d")
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, errors.New("--retire-after must be a duration such as 720h or 90d")
	}
	return d, nil
}

// keysFlags are the subcommands of `cardhost keys` and the flags each
// takes (its -h shows these only).
var keysFlags = map[string][]string{
	"list":     {"type", "tenant"},
	"generate": {"type", "spec", "tenant", "label"},
	"import":   {"type", "component", "component-kcv", "kcv", "spec", "tenant", "label"},
	"export":   {"ref", "under"},
	"rotate":   {"ref", "retire-after"},
	"reindex":  nil,
	"assign":   {"role", "ref"},
	"roles":    nil,
}

// Keys is `cardhost keys ...`: key ceremonies against the database key
// store through the software HSM. Key values are never printed. Exit codes:
// 0 done, 1 failure (database, HSM), 2 bad input (flags, KCV mismatch,
// unknown key, wrong type).
func Keys(ctx context.Context, args []string, load Load, stdout, stderr io.Writer) int {
	var typ, spec, tenant, label, ref, under, retire, role, kcv *string
	var components, componentKCVs multiFlag
	sub, env, fs, code := command("keys", keysUsage, keysFlags, args, load, stderr, func(fs *flag.FlagSet) {
		typ = fs.String("type", "", "key type: IMK-AC, IMK-SMI, IMK-SMC, CVK, PVK, ZPK, ZAK, KEK, CA, ECDH, PAN-DEK, PAN-IDX")
		spec = fs.String("spec", "", "algorithm and size (TDES2, TDES3, AES128, AES256, HMAC-SHA256, EC-P256); default: the type's")
		tenant = fs.String("tenant", "", "owning tenant (empty: shared by every tenant)")
		label = fs.String("label", "", "operator label")
		ref = fs.String("ref", "", "key reference (key_...)")
		under = fs.String("under", "", "reference of the AES KEK (transport key) to export under")
		retire = fs.String("retire-after", "", "how long the old version still verifies, e.g. 720h or 90d (default: its expiry, or 90 days)")
		role = fs.String("role", "", "platform role: pan-dek, pan-idx, ca, ecdh")
		kcv = fs.String("kcv", "", "check value of the combined key (required)")
		fs.Var(&components, "component", "one clear key component in hex (repeat for each custodian)")
		fs.Var(&componentKCVs, "component-kcv", "check value of each component, in order (optional)")
	})
	if code >= 0 {
		return code
	}
	bad := badInput(fs, stderr)
	// Flag checks before anything is opened.
	switch sub {
	case "generate":
		if *typ == "" {
			return bad("--type is required")
		}
	case "import":
		switch {
		case *typ == "":
			return bad("--type is required")
		case len(components) == 0:
			return bad("at least one --component is required (two or more for TDES and AES keys)")
		case *kcv == "":
			return bad("--kcv (the combined key's check value) is required")
		case len(componentKCVs) != 0 && len(componentKCVs) != len(components):
			return bad("%d --component-kcv for %d --component: give one per component or none", len(componentKCVs), len(components))
		}
	case "export":
		if *ref == "" || *under == "" {
			return bad("--ref and --under are required")
		}
	case "rotate":
		if *ref == "" {
			return bad("--ref is required")
		}
	case "assign":
		if *ref == "" || *role == "" {
			return bad("--role and --ref are required")
		}
		if _, ok := issuance.KeyRoleType(*role); !ok {
			return bad("unknown role %q (pan-dek, pan-idx, ca, ecdh)", *role)
		}
	}
	var retireAfter time.Duration
	var err error
	if *retire != "" {
		if retireAfter, err = parseRetireAfter(*retire); err != nil {
			return bad("%v", err)
		}
	}
	var comps []emv.SecretBytes
	if sub == "import" {
		if comps, err = softhsm.DecodeComponents(components); err != nil {
			return bad("%v", err)
		}
	}

	db, err := env.OpenDB(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "cardhost keys:", err)
		return 1
	}
	defer db.Close()
	hsm, err := env.OpenHSM(ctx, db)
	if err != nil {
		fmt.Fprintln(stderr, "cardhost keys:", err)
		return 1
	}
	defer hsm.Purge()
	fail := func(err error) int {
		fmt.Fprintf(stderr, "cardhost keys %s: %v\n", sub, err)
		if keyInputError(err) {
			return 2
		}
		return 1
	}
	switch sub {
	case "list":
		keys, err := hsm.ListKeys(ctx, emv.KeyFilter{Type: emv.KeyType(*typ), Tenant: *tenant})
		if err != nil {
			return fail(err)
		}
		writeKeyTable(stdout, keys)
	case "generate":
		info, err := hsm.GenerateKey(ctx, softhsm.KeyRequest{Type: emv.KeyType(*typ), Spec: emv.KeySpec(*spec), Tenant: *tenant, Label: *label})
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "generated %s %s version %d, KCV %s\n", info.Type, info.Ref, info.Version, info.KCV)
	case "import":
		info, err := hsm.ImportComponents(ctx, softhsm.ImportRequest{
			KeyRequest:    softhsm.KeyRequest{Type: emv.KeyType(*typ), Spec: emv.KeySpec(*spec), Tenant: *tenant, Label: *label},
			Components:    comps,
			ComponentKCVs: componentKCVs,
			KCV:           *kcv,
		})
		if err != nil {
			if errors.Is(err, softhsm.ErrKCVMismatch) {
				fmt.Fprintf(stderr, "cardhost keys import: check value mismatch (%v): nothing was stored; re-enter the components\n", err)
				return 2
			}
			return fail(err)
		}
		fmt.Fprintf(stdout, "imported %s %s version %d from %d components, KCV %s\n", info.Type, info.Ref, info.Version, len(components), info.KCV)
	case "export":
		k, err := hsm.ExportKey(ctx, *ref, *under)
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "key block (TR-31 version D under %s version %d):\n%s\nKCV %s\n", *under, k.KEKVersion, k.KeyBlock, k.KCV)
	case "rotate":
		var until time.Time
		if retireAfter > 0 {
			until = time.Now().Add(retireAfter).UTC()
		}
		before, err := hsm.KeyInfo(ctx, *ref, 0)
		if err != nil {
			return fail(err)
		}
		info, err := hsm.Rotate(ctx, *ref, until)
		if err != nil {
			return fail(err)
		}
		old, err := hsm.KeyInfo(ctx, *ref, before.Version)
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "rotated %s %s: version %d active, KCV %s; version %d retired, usable until %s\n",
			info.Type, info.Ref, info.Version, info.KCV, old.Version, old.UsableUntil.Format(time.RFC3339))
		if info.Type == emv.KeyZPK || info.Type == emv.KeyZAK {
			fmt.Fprintf(stdout, "exchange version %d with the acquirers that use it (cardhost keys export --ref %s --under KEK_REF); their PIN blocks and MACs under version %d are accepted until %s\n",
				info.Version, info.Ref, old.Version, old.UsableUntil.Format(time.RFC3339))
		}
		if info.Type == emv.KeyPANIDX {
			fmt.Fprintf(stdout, "cards move to version %d as the hosts serve them, from %s; then run cardhost keys reindex to move the others before %s\n",
				info.Version, hsm.IndexSettles(info.Activated).Format(time.RFC3339), old.UsableUntil.Format(time.RFC3339))
		}
	case "assign":
		return assignKeyRole(ctx, db, hsm, *role, *ref, stdout, stderr)
	case "roles":
		return listKeyRoles(ctx, db, hsm, stdout, stderr)
	case "reindex":
		return reindexPANs(ctx, db, hsm, stdout, stderr)
	}
	return 0
}

// reindexPANs moves every card to the version of the platform's PAN-index
// key that IndexPANAll stores under (the newest every instance knows).
// Hosts find cards under every live version and move a card they serve;
// this moves the others before a retired version's end of use.
func reindexPANs(ctx context.Context, db *postgres.DB, hsm *softhsm.HSM, stdout, stderr io.Writer) int {
	switch keys, err := db.SystemKeys(ctx); {
	case err != nil:
		fmt.Fprintln(stderr, "cardhost keys reindex: reading key roles:", err)
		return 1
	case keys.PANIndex == "" || keys.PANDEK == "":
		fmt.Fprintln(stderr, "cardhost keys reindex: the pan-idx and pan-dek roles are not assigned")
		return 2
	default:
		return reindexUnder(ctx, db, hsm, keys, stdout, stderr)
	}
}

func reindexUnder(ctx context.Context, db *postgres.DB, hsm *softhsm.HSM, keys issuance.SystemKeys, stdout, stderr io.Writer) int {
	n, err := db.ReindexPANs(ctx, func(tenantID, cardID string, sealed []byte) ([]byte, error) {
		pan, err := hsm.OpenPAN(ctx, keys.PANDEK, tenantID, cardID, sealed)
		if err != nil {
			return nil, err
		}
		all, err := hsm.IndexPANAll(ctx, keys.PANIndex, pan)
		if err != nil {
			return nil, err
		}
		return all[0], nil
	})
	if err != nil {
		fmt.Fprintf(stderr, "cardhost keys reindex: %d cards moved, then: %v\n", n, err)
		return 1
	}
	fmt.Fprintf(stdout, "re-indexed %d cards\n", n)
	if info, err := hsm.KeyInfo(ctx, keys.PANIndex, 0); err == nil && time.Now().Before(hsm.IndexSettles(info.Activated)) {
		fmt.Fprintf(stdout, "version %d is used for the index from %s: run again then\n", info.Version, hsm.IndexSettles(info.Activated).Format(time.RFC3339))
	}
	return 0
}

func writeKeyTable(w io.Writer, keys []softhsm.KeyInfo) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "REFERENCE\tVERSION\tTYPE\tSPEC\tKCV\tTENANT\tSTATUS\tCREATED\tEXPIRES\tUSABLE UNTIL\tLABEL")
	date := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.Format("2006-01-02")
	}
	for _, k := range keys {
		ten := k.Tenant
		if ten == "" {
			ten = "(shared)"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.Ref, k.Version, k.Type, k.Spec, k.KCV, ten, k.Status,
			date(k.Created), date(k.Expires), date(k.UsableUntil), k.Label)
	}
	tw.Flush()
}

// assignKeyRole binds a platform role to a key: the key must exist, be
// active, have the role's type and be shared. PAN-DEK and PAN-IDX roles,
// once bound, never move (stored PANs depend on the reference): rotate the
// key instead.
func assignKeyRole(ctx context.Context, db *postgres.DB, hsm *softhsm.HSM, role, ref string, stdout, stderr io.Writer) int {
	want, _ := issuance.KeyRoleType(role)
	info, err := hsm.KeyInfo(ctx, ref, 0)
	if err != nil {
		fmt.Fprintf(stderr, "cardhost keys assign: %v\n", err)
		if keyInputError(err) {
			return 2
		}
		return 1
	}
	switch {
	case info.Type != want:
		fmt.Fprintf(stderr, "cardhost keys assign: %s is a %s key; role %s needs a %s key\n", ref, info.Type, role, want)
		return 2
	case info.Tenant != "":
		fmt.Fprintf(stderr, "cardhost keys assign: %s belongs to tenant %s; platform roles need a shared key (generate it without --tenant)\n", ref, info.Tenant)
		return 2
	case info.Status != emv.KeyActive:
		fmt.Fprintf(stderr, "cardhost keys assign: %s has no active version\n", ref)
		return 2
	}
	current, err := db.SystemKeys(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "cardhost keys assign:", err)
		return 1
	}
	var have string
	switch role {
	case issuance.KeyRolePANDEK:
		have = current.PANDEK
	case issuance.KeyRolePANIDX:
		have = current.PANIndex
	case issuance.KeyRoleCA:
		have = current.CA
	case issuance.KeyRoleECDH:
		have = current.ECDH
	}
	if have != "" && have != ref && !issuance.KeyRoleRebindable(role) {
		fmt.Fprintf(stderr, "cardhost keys assign: role %s is bound to %s and cannot move: stored PANs are sealed or indexed under it. Rotate it instead: cardhost keys rotate --ref %s\n", role, have, have)
		return 2
	}
	if _, err := db.AssignKeyRole(ctx, role, ref, true); err != nil {
		fmt.Fprintln(stderr, "cardhost keys assign:", err)
		return 1
	}
	fmt.Fprintf(stdout, "role %s -> %s (%s, KCV %s); cardhost instances use it from their next start\n", role, ref, info.Type, info.KCV)
	return 0
}

func listKeyRoles(ctx context.Context, db *postgres.DB, hsm *softhsm.HSM, stdout, stderr io.Writer) int {
	roles, err := db.KeyRoles(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "cardhost keys roles:", err)
		return 1
	}
	byRole := map[string]postgres.KeyRole{}
	for _, r := range roles {
		byRole[r.Role] = r
	}
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ROLE\tREFERENCE\tTYPE\tVERSION\tKCV\tASSIGNED")
	for _, role := range issuance.KeyRoles {
		r, ok := byRole[role]
		if !ok {
			fmt.Fprintf(tw, "%s\t(unassigned)\t-\t-\t-\t-\n", role)
			continue
		}
		typ, ver, kcv := "?", "?", "?"
		if info, err := hsm.KeyInfo(ctx, r.Ref, 0); err == nil {
			typ, ver, kcv = string(info.Type), strconv.Itoa(info.Version), info.KCV
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", role, r.Ref, typ, ver, kcv, r.AssignedAt.Format(time.RFC3339))
	}
	tw.Flush()
	return 0
}
