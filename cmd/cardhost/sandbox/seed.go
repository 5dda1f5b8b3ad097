package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/emv/softhsm"
	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/bins"
	"github.com/cardhost/cardhost/issuance/postgres"
)

// Seeder seeds the sandbox. Its methods are safe to call from several
// instances at once: each runs under the database's seed lock.
type Seeder struct {
	DB  *postgres.DB
	HSM *softhsm.HSM
	Log *slog.Logger
	// Out receives the one-time report of what was created (key
	// references and check values, never key values): stdout, not the log.
	Out io.Writer
	Now func() time.Time // default time.Now
}

func (d *Seeder) now() time.Time {
	if d.Now == nil {
		return time.Now()
	}
	return d.Now()
}

// EnsurePlatformKeys generates a shared key for every platform role that
// has none (PAN-DEK and PAN-IDX shared by all tenants, CA, ECDH) and
// prints what it created.
func (d *Seeder) EnsurePlatformKeys(ctx context.Context) error {
	return d.DB.WithSeedLock(ctx, func(ctx context.Context) error {
		have, err := d.DB.SystemKeys(ctx)
		if err != nil {
			return err
		}
		missing := have.Missing()
		if len(missing) == 0 {
			return nil
		}
		report := newKeyReport()
		for _, role := range missing {
			typ, _ := issuance.KeyRoleType(role)
			info, err := d.HSM.GenerateKey(ctx, softhsm.KeyRequest{Type: typ, Label: "sandbox " + role})
			if err != nil {
				return fmt.Errorf("generating the %s key: %w", role, err)
			}
			if _, err := d.DB.AssignKeyRole(ctx, role, info.Ref, false); err != nil {
				return err
			}
			report.add(role, info, "")
			d.Log.Info("sandbox: assigned platform key", "role", role, "ref", info.Ref)
		}
		fmt.Fprintf(d.Out, "sandbox: platform keys generated and assigned:\n%s\n", report)
		return nil
	})
}

// importKey imports a key from published components.
func (d *Seeder) importKey(ctx context.Context, tenant, label string, k PublishedKey) (softhsm.KeyInfo, error) {
	secrets, err := softhsm.DecodeComponents(k.Components)
	if err != nil {
		return softhsm.KeyInfo{}, err
	}
	return d.HSM.ImportComponents(ctx, softhsm.ImportRequest{
		KeyRequest: softhsm.KeyRequest{Type: k.Type, Spec: k.Spec, Tenant: tenant, Label: label},
		Components: secrets, ComponentKCVs: k.ComponentKCVs, KCV: k.KCV,
	})
}

// ensureAcquirer registers the sandbox acquirers, each unless it exists:
// AcquirerID with its ZPK imported from the published components, and
// MACAcquirerID with the same ZPK and its ZAK, MACs required.
func (d *Seeder) ensureAcquirer(ctx context.Context) error {
	return d.DB.WithSeedLock(ctx, func(ctx context.Context) error {
		zpkRef, err := d.DB.AcquirerZPK(ctx, AcquirerID)
		if errors.Is(err, issuance.ErrNotFound) {
			var zpk softhsm.KeyInfo
			if zpk, err = d.importKey(ctx, "", "sandbox acquirer ZPK", AcquirerZPK); err != nil {
				return fmt.Errorf("importing the sandbox ZPK: %w", err)
			}
			if err := d.DB.CreateAcquirer(ctx, postgres.Acquirer{ID: AcquirerID, Name: acquirerName, ZPKRef: zpk.Ref, CreatedAt: d.now().UTC()}); err != nil {
				return err
			}
			fmt.Fprintf(d.Out, "sandbox: acquirer %s (%s), zone PIN key %s, KCV %s (published test components, docs/sandbox.md)\n\n",
				AcquirerID, acquirerName, zpk.Ref, zpk.KCV)
			zpkRef = zpk.Ref
		}
		if err != nil {
			return err
		}
		_, err = d.DB.AcquirerZPK(ctx, MACAcquirerID)
		if err == nil || !errors.Is(err, issuance.ErrNotFound) {
			return err
		}
		zak, err := d.importKey(ctx, "", "sandbox MAC acquirer ZAK", MACAcquirerZAK)
		if err != nil {
			return fmt.Errorf("importing the sandbox ZAK: %w", err)
		}
		a := postgres.Acquirer{ID: MACAcquirerID, Name: macAcquirerName, ZPKRef: zpkRef, ZAKRef: zak.Ref, MACRequired: true, CreatedAt: d.now().UTC()}
		if err := d.DB.CreateAcquirer(ctx, a); err != nil {
			return err
		}
		fmt.Fprintf(d.Out, "sandbox: acquirer %s (%s), MACs required, zone MAC key %s, KCV %s (published test components, docs/sandbox.md)\n\n",
			MACAcquirerID, macAcquirerName, zak.Ref, zak.KCV)
		return nil
	})
}

// SeedTenant gives a sandbox tenant its own keys (IMK-AC, IMK-SMI,
// IMK-SMC, CVK, PVK generated; the transport KEK imported from the
// published components), its own BIN ranges (a Visa, a Mastercard and a
// UnionPay range no other tenant holds) and a catalog: one template per CVN in
// them, the loopback embosser, a default layout and an ACTIVE default
// product (USD, VIRTUAL, 36 months). It does nothing for a tenant seeded before, and a seed
// interrupted half-way resumes with the keys it already made.
func (d *Seeder) SeedTenant(ctx context.Context, tenantID string) error {
	return d.DB.WithSeedLock(ctx, func(ctx context.Context) error {
		seeded, err := d.DB.SandboxSeeded(ctx, tenantID)
		if err != nil || seeded {
			return err
		}
		roles, err := d.DB.TenantKeyRoles(ctx, tenantID)
		if err != nil {
			return err
		}
		report := newKeyReport()
		for _, k := range tenantKeys {
			var info softhsm.KeyInfo
			if ref, ok := roles[k.role]; ok {
				if info, err = d.HSM.KeyInfo(ctx, ref, 0); err != nil {
					return fmt.Errorf("reading the tenant's %s key: %w", k.role, err)
				}
			} else {
				note := ""
				if k.typ == emv.KeyKEK {
					info, err = d.importKey(ctx, tenantID, "sandbox transport key", TransportKEK)
					note = "published test components, docs/sandbox.md"
				} else {
					info, err = d.HSM.GenerateKey(ctx, softhsm.KeyRequest{Type: k.typ, Tenant: tenantID, Label: "sandbox " + k.role})
				}
				if err != nil {
					return fmt.Errorf("creating the tenant's %s key: %w", k.role, err)
				}
				if _, err := d.DB.AssignTenantKeyRole(ctx, tenantID, k.role, info.Ref); err != nil {
					return err
				}
				report.add(k.role, info, note)
			}
			roles[k.role] = info.Ref
		}

		seed, err := d.seedCatalog(ctx, tenantID, roles)
		if err != nil {
			return err
		}
		p := seed.Products[0]
		var ranges []string
		for _, r := range seed.BINRanges {
			ranges = append(ranges, r.Prefix)
		}
		fmt.Fprintf(d.Out, "sandbox: tenant %s seeded\n%s  BIN ranges %s, product %s (%s), %d data prep templates (%s), embosser %s, layout %s\n\n",
			tenantID, report, strings.Join(ranges, ", "), p.ID, p.Name, len(seed.Templates), templateCVNs(), p.DefaultEmbosserID, p.LayoutID)
		d.Log.Info("sandbox: seeded tenant", "tenant_id", tenantID, "product_id", p.ID)
		return nil
	})
}

// seedCatalog stores the tenant's catalog in the lowest free block of BIN
// ranges: blocks that overlap a range are skipped at once, and a block
// holding another tenant's template or cards (a database from before BIN
// ranges) is refused by the store and the next one tried.
func (d *Seeder) seedCatalog(ctx context.Context, tenantID string, roles map[string]string) (postgres.CatalogSeed, error) {
	taken, err := d.DB.BINRanges(ctx, "")
	if err != nil {
		return postgres.CatalogSeed{}, err
	}
	for block, tries := 0, 0; tries < 100; block, tries = block+1, tries+1 {
		var ok bool
		if block, ok = freeBlock(taken, block); !ok {
			break
		}
		seed, err := buildCatalog(tenantID, roles, block, d.now().UTC())
		if err != nil {
			return seed, err
		}
		err = d.DB.SeedCatalog(ctx, seed)
		var c *bins.Conflict
		if errors.As(err, &c) {
			continue
		}
		if err != nil {
			return seed, fmt.Errorf("seeding the sandbox catalog: %w", err)
		}
		return seed, nil
	}
	return postgres.CatalogSeed{}, errors.New("seeding the sandbox catalog: no free block of sandbox BIN ranges (40nnnn, 51nnnn, 62nnnn)")
}

// Bootstrap creates the sandbox tenant on the first start and returns its
// API key (shown once; "" when tenants already existed), then registers
// the sandbox acquirer and seeds every sandbox tenant not seeded yet.
func (d *Seeder) Bootstrap(ctx context.Context, svc *issuance.Service) (string, error) {
	ts, err := svc.Tenants(ctx)
	if err != nil {
		return "", err
	}
	var secret string
	if len(ts) == 0 {
		t, s, err := svc.CreateTenant(ctx, "Sandbox", true, []string{issuance.ScopeReveal})
		if err != nil {
			return "", fmt.Errorf("creating sandbox tenant: %w", err)
		}
		d.Log.Info("sandbox: created tenant", "tenant_id", t.ID)
		secret, ts = s, []issuance.Tenant{t}
	}
	if err := d.ensureAcquirer(ctx); err != nil {
		return "", err
	}
	reported := secret != ""
	for _, t := range ts {
		if !t.Sandbox {
			continue
		}
		if err := d.SeedTenant(ctx, t.ID); err != nil {
			return "", fmt.Errorf("seeding sandbox tenant %s: %w", t.ID, err)
		}
		if !reported { // a restart: say which tenant, and the way back to a key
			reported = true
			fmt.Fprintf(d.Out, "sandbox: tenant %s (%s); its API key was printed at the first start. Lost it? Make another:\n\n"+
				"  cardhost tenants create-key --tenant %s --name laptop\n\n", t.ID, t.Name, t.ID)
		}
	}
	return secret, nil
}
