package admin

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cardhost/cardhost/cmd/cardhost/sandbox"
	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/bins"
	"github.com/cardhost/cardhost/issuance/catalog"
	"github.com/cardhost/cardhost/issuance/postgres"
	"github.com/cardhost/cardhost/issuance/subaccount"
)

const tenantsUsage = `usage:
  cardhost tenants create --name NAME [--sandbox] [--scopes reveal]   print a new tenant's API key (--sandbox: sandbox mode only)
  cardhost tenants create --name NAME --parent ID [--scopes reveal]   a sub-account of tenant ID (in its mode), with a first API key
  cardhost tenants list                                  every tenant; PARENT names a sub-account's parent
  cardhost tenants create-key --tenant ID --name KEY_NAME [--scopes reveal]   print another API key
  cardhost tenants revoke-key --tenant ID --key KEY_ID
  cardhost tenants add-bin --tenant ID --bin PREFIX      assign a BIN range (6-8 digits) to the tenant
  cardhost tenants remove-bin --tenant ID --bin PREFIX   take back a range it has no templates or cards in
  cardhost tenants bins [--tenant ID]                    list BIN ranges (every tenant's without --tenant)
  cardhost tenants set --tenant ID [--idempotency-policy optional|required] [--default-currency CODE]
                                                         change the tenant's settings (as PATCH /v1/tenant)
(database flags as for serve: --database-url or DATABASE_URL)
`

// tenantsFlags are the subcommands of `cardhost tenants` and the flags
// each takes (its -h shows these only).
var tenantsFlags = map[string][]string{
	"create":     {"name=tenant name", "sandbox", "parent", "scopes=comma-separated scopes of its first API key (reveal)"},
	"list":       nil,
	"create-key": {"tenant", "name=API key name (shown in the key list)", "scopes"},
	"revoke-key": {"tenant", "key"},
	"add-bin":    {"tenant", "bin"},
	"remove-bin": {"tenant", "bin"},
	"bins":       {"tenant"},
	"set":        {"tenant", "idempotency-policy", "default-currency"},
}

// Tenants is `cardhost tenants ...`: operator commands run against the
// database directly (no server needed).
func Tenants(ctx context.Context, args []string, load Load, stdout, stderr io.Writer) int {
	var name, scopes, tenant, key, bin, parent, policy, currency *string
	var sandbox *bool
	sub, env, _, code := command("tenants", tenantsUsage, tenantsFlags, args, load, stderr, func(fs *flag.FlagSet) {
		name = fs.String("name", "", "name")
		scopes = fs.String("scopes", "", "comma-separated API key scopes (reveal)")
		tenant = fs.String("tenant", "", "tenant id")
		key = fs.String("key", "", "API key id (key_...)")
		bin = fs.String("bin", "", "BIN range: the IIN prefix (6 to 8 digits) every card number of the range starts with")
		parent = fs.String("parent", "", "make the tenant a sub-account of this tenant (docs/api.md, Sub-accounts)")
		policy = fs.String("idempotency-policy", "", "optional, or required (every idempotent operation needs an Idempotency-Key)")
		currency = fs.String("default-currency", "", "the ISO 4217 currency of card products created without one")
		sandbox = fs.Bool("sandbox", false, "mark the tenant as a sandbox tenant (simulator endpoints, reveal); refused in production mode")
	})
	if code >= 0 {
		return code
	}
	var sc []string
	if *scopes != "" {
		sc = strings.Split(*scopes, ",")
	}
	if (sub == "create" && *name == "") || (sub == "create-key" && (*tenant == "" || *name == "")) || (sub == "revoke-key" && (*tenant == "" || *key == "")) ||
		((sub == "add-bin" || sub == "remove-bin" || sub == "set") && (*tenant == "" || (sub != "set" && *bin == ""))) {
		fmt.Fprintf(stderr, "cardhost tenants %s: missing required flag\n%s", sub, tenantsUsage)
		return 2
	}
	if sub == "create" && *sandbox && *parent != "" {
		fmt.Fprintf(stderr, "cardhost tenants create: --sandbox and --parent together: a sub-account takes its parent's mode\n")
		return 2
	}
	if sub == "create" && *sandbox && env.Mode != "sandbox" {
		// A sandbox tenant reveals card data without the reveal scope,
		// drives the simulator and is seeded with a transport key from
		// published test components: never on a production database.
		fmt.Fprintf(stderr, "cardhost tenants create: --sandbox is refused in production mode (a sandbox tenant reveals card data without the reveal scope and gets a transport key from published test components); create it on a sandbox instance (CARDHOST_MODE=sandbox), or drop --sandbox\n")
		return 2
	}
	db, err := env.OpenDB(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "cardhost tenants:", err)
		return 1
	}
	defer db.Close()
	svc := issuance.NewService(issuance.Deps{Tenants: db, Logger: env.Log})
	fail := func(err error) int {
		if slug := issuance.SlugOf(err); slug != "" {
			fmt.Fprintf(stderr, "cardhost tenants %s: %v\n", sub, err)
			return 2
		}
		fmt.Fprintf(stderr, "cardhost tenants %s: %v\n", sub, err)
		return 1
	}
	switch sub {
	case "create":
		if *parent != "" {
			return createSubAccount(ctx, env, db, svc, *parent, *name, sc, stdout, fail)
		}
		t, secret, err := svc.CreateTenant(ctx, *name, *sandbox, sc)
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "tenant %s (%s) created; its API key (shown only now):\n\n  %s\n\n", t.ID, t.Name, secret)
		if *sandbox {
			if err := seedSandboxTenant(ctx, env, db, t.ID, stdout); err != nil {
				return fail(fmt.Errorf("seeding the sandbox tenant: %w", err))
			}
		}
	case "list":
		ts, err := svc.Tenants(ctx)
		if err != nil {
			return fail(err)
		}
		tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tSANDBOX\tCREATED\tPARENT")
		for _, t := range ts {
			parent := t.ParentID
			if parent == "" {
				parent = "-"
			}
			fmt.Fprintf(tw, "%s\t%s\t%v\t%s\t%s\n", t.ID, t.Name, t.Sandbox, t.CreatedAt.Format("2006-01-02T15:04:05Z"), parent)
		}
		tw.Flush()
	case "create-key":
		k, secret, err := svc.CreateAPIKey(ctx, *tenant, issuance.Operator, issuance.KeyRequest{Name: *name, Scopes: sc})
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "API key %s (%s) for tenant %s (shown only now):\n\n  %s\n\n", k.ID, k.Name, k.TenantID, secret)
	case "revoke-key":
		err := svc.RevokeAPIKey(ctx, *tenant, *key)
		if errors.Is(err, issuance.ErrNotFound) {
			// Revoking again is done already: say so (exit 0), so that a
			// runbook may be run twice; an unknown key stays an error.
			if at := revokedAt(ctx, svc, *tenant, *key); at != nil {
				fmt.Fprintf(stdout, "API key %s was already revoked (%s)\n", *key, at.UTC().Format(time.RFC3339))
				return 0
			}
		}
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "API key %s revoked\n", *key)
	case "set":
		var u catalog.TenantSettingsUpdate
		if *policy != "" {
			u.IdempotencyPolicy = policy
		}
		if *currency != "" {
			u.DefaultCurrency = currency
		}
		t, err := catalog.New(issuance.Deps{Tenants: db, Logger: env.Log}).UpdateTenantSettings(ctx, *tenant, u)
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "tenant %s: idempotency_policy %s, default_currency %s\n", t.ID, t.IdempotencyPolicy, t.DefaultCurrency)
	case "add-bin", "remove-bin", "bins":
		return binRanges(ctx, sub, catalog.New(issuance.Deps{Catalog: db, Logger: env.Log}), *tenant, *bin, stdout, fail)
	}
	return 0
}

// revokedAt is when the tenant's key keyID was revoked; nil when the
// tenant has no such key, it is not revoked, or the keys cannot be read.
func revokedAt(ctx context.Context, svc *issuance.Service, tenantID, keyID string) *time.Time {
	keys, err := svc.APIKeys(ctx, tenantID)
	if err != nil {
		return nil
	}
	for _, k := range keys {
		if k.ID == keyID {
			return k.RevokedAt
		}
	}
	return nil
}

// createSubAccount runs `tenants create --parent`: a sub-account of the
// parent (in its mode), with a first API key of the given scopes; a
// sandbox sub-account is seeded as a sandbox tenant is.
func createSubAccount(ctx context.Context, env Env, db *postgres.DB, svc *issuance.Service, parentID, name string, scopes []string, stdout io.Writer, fail func(error) int) int {
	p, err := db.Tenant(ctx, parentID)
	if errors.Is(err, issuance.ErrNotFound) {
		err = issuance.Errorf(issuance.SlugNotFound, "no tenant %s", parentID)
	}
	if err != nil {
		return fail(err)
	}
	t, err := subaccount.New(db, issuance.Deps{Logger: env.Log}).Create(ctx, p, issuance.Operator, subaccount.Request{Name: name})
	if err != nil {
		return fail(err)
	}
	k, secret, err := svc.CreateAPIKey(ctx, t.ID, issuance.Operator, issuance.KeyRequest{Name: issuance.FirstKeyName, Scopes: scopes})
	if err != nil {
		return fail(err)
	}
	fmt.Fprintf(stdout, "tenant %s (%s) created, a sub-account of %s; its API key %s (shown only now):\n\n  %s\n\n", t.ID, t.Name, p.ID, k.ID, secret)
	if t.Sandbox {
		if err := seedSandboxTenant(ctx, env, db, t.ID, stdout); err != nil {
			return fail(fmt.Errorf("seeding the sandbox sub-account: %w", err))
		}
	}
	return 0
}

// seedSandboxTenant seeds a tenant made by `cardhost tenants create
// --sandbox`: it opens the HSM and makes sure the platform keys exist
// first (in sandbox mode), then seeds the tenant.
func seedSandboxTenant(ctx context.Context, env Env, db *postgres.DB, tenantID string, out io.Writer) error {
	hsm, err := env.OpenHSM(ctx, db)
	if err != nil {
		return err
	}
	defer hsm.Purge()
	s := &sandbox.Seeder{DB: db, HSM: hsm, Log: env.Log, Out: out}
	if env.Mode == "sandbox" {
		if err := s.EnsurePlatformKeys(ctx); err != nil {
			return err
		}
	}
	return s.SeedTenant(ctx, tenantID)
}

// binRanges runs `tenants add-bin|remove-bin|bins`: the operator assigns
// the BIN ranges a tenant's templates and imported cards must lie in
// (docs/api.md, BIN ranges).
func binRanges(ctx context.Context, sub string, cat *catalog.Service, tenant, prefix string, stdout io.Writer, fail func(error) int) int {
	switch sub {
	case "add-bin":
		r, err := cat.AssignBINRange(ctx, tenant, prefix)
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "BIN range %s assigned to tenant %s\n", r.Prefix, r.TenantID)
	case "remove-bin":
		if err := cat.RemoveBINRange(ctx, tenant, prefix); err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "BIN range %s removed from tenant %s\n", prefix, tenant)
	case "bins":
		var rs []bins.Range
		var err error
		if tenant == "" {
			rs, err = cat.AllBINRanges(ctx)
		} else {
			rs, err = cat.BINRanges(ctx, tenant)
		}
		if err != nil {
			return fail(err)
		}
		tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "PREFIX\tTENANT\tASSIGNED")
		for _, r := range rs {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Prefix, r.TenantID, r.CreatedAt.Format("2006-01-02T15:04:05Z"))
		}
		tw.Flush()
	}
	return 0
}
