package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/emv/softhsm"
	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/catalog"
	"github.com/cardhost/cardhost/issuance/postgres"
)

// Sandbox seeding (docs/sandbox.md). On the first start in sandbox mode,
// once the master key exists: the platform key roles get keys, the sandbox
// tenant is created, every sandbox tenant gets its own keys and a ready
// catalog, and a test acquirer is registered. Everything runs under a
// cluster-wide lock and is recorded, so a restart (or a second instance)
// seeds nothing twice. The key references and check values are printed to
// stdout once, when created.

// Published test components (sandbox only; docs/sandbox.md). Never use them
// outside the sandbox: their clear values are public.
var (
	// sandboxKEKComponents make every sandbox tenant's transport key (AES-256
	// KEK), under which personalisation records are exported for the
	// terminal simulator: component 1 is the key block protection key of
	// ASC X9 TR-31:2018 Annex A.7.4, component 2 the AES-256 key of the
	// Thales payShield key block example in openemv/tr31's tests (test8).
	sandboxKEKComponents    = []string{"88E1AB2A2E3DD38C1FA039A536500CC8A87AB9D62DC92C01058FA79F44657DE6", "BE19E6A07A760F10EF8E83A226B63AAD141F463FDDD4F47DB244B4023EC3CACC"}
	sandboxKEKComponentKCVs = []string{"233155", "0A00E3"}
	// sandboxKEKClear is their XOR (AES-CMAC KCV sandboxKEKKCV).
	sandboxKEKClear = "36F84D8A544BDC9CF02EBA0710E63665BC65FFE9F01DD87CB7CB139D7AA6B72A"
	sandboxKEKKCV   = "A25E84"

	// sandboxZPKComponents make the sandbox acquirer's zone PIN key (double
	// length TDES): the three key parts of EFTlab's BP-CCALC tutorial "Key
	// exchange session preparation", with their published check values.
	sandboxZPKComponents    = []string{"3B577FB3FD756DDFE62F6B52751580E0", "D9CDE338A104A789859E76150B543251", "1032D0581A31D64FADD08991945E0D3E"}
	sandboxZPKComponentKCVs = []string{"CAEBAA", "DF9B9A", "83EBC1"}
	sandboxZPKClear         = "F2A84CD346401C19CE6194D6EA1FBF8F"
	sandboxZPKKCV           = "DDA8BA"
)

// The sandbox acquirer (field 32).
const (
	sandboxAcquirerID   = "00000000001"
	sandboxAcquirerName = "Sandbox acquirer"
)

// seedDeps is what seeding needs.
type seedDeps struct {
	db  *postgres.DB
	hsm *softhsm.HSM
	log *slog.Logger
	now func() time.Time
}

func seedDepsOf(a *App) seedDeps {
	return seedDeps{db: a.db, hsm: a.hsm, log: a.log, now: time.Now}
}

// keyLine prints one seeded key.
func keyLine(tw io.Writer, role string, k softhsm.KeyInfo, note string) {
	fmt.Fprintf(tw, "  %s\t%s\t%s\tKCV %s\t%s\n", role, k.Ref, k.Type, k.KCV, note)
}

// ensurePlatformKeys generates a shared key for every platform role that
// has none (PAN-DEK and PAN-IDX shared by all tenants, CA, ECDH) and
// prints what it created.
func ensurePlatformKeys(ctx context.Context, d seedDeps, out io.Writer) error {
	return d.db.WithSeedLock(ctx, func(ctx context.Context) error {
		have, err := d.db.SystemKeys(ctx)
		if err != nil {
			return err
		}
		missing := have.Missing()
		if len(missing) == 0 {
			return nil
		}
		var sb strings.Builder
		tw := tabwriter.NewWriter(&sb, 2, 4, 2, ' ', 0)
		for _, role := range missing {
			typ, _ := issuance.KeyRoleType(role)
			info, err := d.hsm.GenerateKey(ctx, softhsm.KeyRequest{Type: typ, Label: "sandbox " + role})
			if err != nil {
				return fmt.Errorf("generating the %s key: %w", role, err)
			}
			if _, err := d.db.AssignKeyRole(ctx, role, info.Ref, false); err != nil {
				return err
			}
			keyLine(tw, role, info, "")
			d.log.Info("sandbox: assigned platform key", "role", role, "ref", info.Ref)
		}
		tw.Flush()
		fmt.Fprintf(out, "sandbox: platform keys generated and assigned:\n%s\n", sb.String())
		return nil
	})
}

// importSandboxKey imports a key from published components.
func importSandboxKey(ctx context.Context, d seedDeps, typ emv.KeyType, spec emv.KeySpec, tenant, label string, comps, compKCVs []string, kcv string) (softhsm.KeyInfo, error) {
	secrets, err := decodeComponents(comps)
	if err != nil {
		return softhsm.KeyInfo{}, err
	}
	return d.hsm.ImportComponents(ctx, softhsm.ImportRequest{
		KeyRequest: softhsm.KeyRequest{Type: typ, Spec: spec, Tenant: tenant, Label: label},
		Components: secrets, ComponentKCVs: compKCVs, KCV: kcv,
	})
}

// ensureSandboxAcquirer registers the sandbox acquirer with its ZPK
// imported from the published components, unless it exists.
func ensureSandboxAcquirer(ctx context.Context, d seedDeps, out io.Writer) error {
	return d.db.WithSeedLock(ctx, func(ctx context.Context) error {
		_, err := d.db.AcquirerZPK(ctx, sandboxAcquirerID)
		if err == nil {
			return nil
		}
		if !errors.Is(err, issuance.ErrNotFound) {
			return err
		}
		zpk, err := importSandboxKey(ctx, d, emv.KeyZPK, emv.KeySpecTDES2, "", "sandbox acquirer ZPK", sandboxZPKComponents, sandboxZPKComponentKCVs, sandboxZPKKCV)
		if err != nil {
			return fmt.Errorf("importing the sandbox ZPK: %w", err)
		}
		if err := d.db.CreateAcquirer(ctx, postgres.Acquirer{ID: sandboxAcquirerID, Name: sandboxAcquirerName, ZPKRef: zpk.Ref, CreatedAt: d.now().UTC()}); err != nil {
			return err
		}
		fmt.Fprintf(out, "sandbox: acquirer %s (%s), zone PIN key %s, KCV %s (published test components, docs/sandbox.md)\n\n",
			sandboxAcquirerID, sandboxAcquirerName, zpk.Ref, zpk.KCV)
		return nil
	})
}

// sandboxTenantKeys are the per-tenant key roles seeding creates.
var sandboxTenantKeys = []struct {
	role string
	typ  emv.KeyType
}{
	{"imk-ac", emv.KeyIMKAC}, {"imk-smi", emv.KeyIMKSMI}, {"imk-smc", emv.KeyIMKSMC}, {"cvk", emv.KeyCVK}, {"pvk", emv.KeyPVK}, {"kek", emv.KeyKEK},
}

// sandboxTemplates are the seeded data prep templates: one per supported
// CVN, each IIN ending with its CVN so that a PAN tells its CVN.
var sandboxTemplates = []struct {
	network issuance.Network
	cvn     int
	iin     string
	aid     string
}{
	{issuance.NetworkVisa, 10, "40000010", "A0000000031010"},
	{issuance.NetworkVisa, 18, "40000018", "A0000000031010"},
	{issuance.NetworkVisa, 22, "40000022", "A0000000031010"},
	{issuance.NetworkMastercard, 16, "51000016", "A0000000041010"},
	{issuance.NetworkMastercard, 17, "51000017", "A0000000041010"},
	{issuance.NetworkMastercard, 20, "51000020", "A0000000041010"},
	{issuance.NetworkMastercard, 21, "51000021", "A0000000041010"},
}

// sandboxDefaultCVN is the template of the seeded default product.
const sandboxDefaultCVN = 18

// seedSandboxTenant gives a sandbox tenant its own keys (IMK-AC, IMK-SMI,
// IMK-SMC, CVK, PVK generated; the transport KEK imported from the
// published components) and a catalog: one template per CVN, the loopback
// embosser, a default layout and an ACTIVE default product (USD, VIRTUAL,
// 36 months). It does nothing for a tenant seeded before, and a seed
// interrupted half-way resumes with the keys it already made.
func seedSandboxTenant(ctx context.Context, d seedDeps, tenantID string, out io.Writer) error {
	return d.db.WithSeedLock(ctx, func(ctx context.Context) error {
		seeded, err := d.db.SandboxSeeded(ctx, tenantID)
		if err != nil || seeded {
			return err
		}
		roles, err := d.db.TenantKeyRoles(ctx, tenantID)
		if err != nil {
			return err
		}
		var sb strings.Builder
		tw := tabwriter.NewWriter(&sb, 2, 4, 2, ' ', 0)
		for _, k := range sandboxTenantKeys {
			var info softhsm.KeyInfo
			if ref, ok := roles[k.role]; ok {
				if info, err = d.hsm.KeyInfo(ctx, ref, 0); err != nil {
					return fmt.Errorf("reading the tenant's %s key: %w", k.role, err)
				}
			} else {
				note := ""
				if k.typ == emv.KeyKEK {
					info, err = importSandboxKey(ctx, d, emv.KeyKEK, emv.KeySpecAES256, tenantID, "sandbox transport key", sandboxKEKComponents, sandboxKEKComponentKCVs, sandboxKEKKCV)
					note = "published test components, docs/sandbox.md"
				} else {
					info, err = d.hsm.GenerateKey(ctx, softhsm.KeyRequest{Type: k.typ, Tenant: tenantID, Label: "sandbox " + k.role})
				}
				if err != nil {
					return fmt.Errorf("creating the tenant's %s key: %w", k.role, err)
				}
				if _, err := d.db.AssignTenantKeyRole(ctx, tenantID, k.role, info.Ref); err != nil {
					return err
				}
				keyLine(tw, k.role, info, note)
			}
			roles[k.role] = info.Ref
		}
		tw.Flush()

		seed, err := sandboxCatalog(tenantID, roles, d.now().UTC())
		if err != nil {
			return err
		}
		if err := d.db.SeedCatalog(ctx, seed); err != nil {
			return fmt.Errorf("seeding the sandbox catalog: %w", err)
		}
		p := seed.Products[0]
		fmt.Fprintf(out, "sandbox: tenant %s seeded\n%s  product %s (%s), %d data prep templates (Visa CVN 10/18/22, Mastercard CVN 16/17/20/21), embosser %s, layout %s\n\n",
			tenantID, sb.String(), p.ID, p.Name, len(seed.Templates), p.DefaultEmbosserID, p.LayoutID)
		d.log.Info("sandbox: seeded tenant", "tenant_id", tenantID, "product_id", p.ID)
		return nil
	})
}

// sandboxCatalog builds a tenant's seeded catalog, checked by the same
// rules as the API's.
func sandboxCatalog(tenantID string, keys map[string]string, now time.Time) (postgres.CatalogSeed, error) {
	s := postgres.CatalogSeed{TenantID: tenantID, At: now}
	var v issuance.Validator
	var defaultTemplate string
	for _, st := range sandboxTemplates {
		name := "Visa"
		if st.network == issuance.NetworkMastercard {
			name = "Mastercard"
		}
		t := issuance.Template{
			ID: issuance.NewID(issuance.TemplateIDPrefix, now), TenantID: tenantID,
			Name: fmt.Sprintf("Sandbox %s CVN %d", name, st.cvn), Description: "seeded sandbox template",
			Network: st.network, IIN: st.iin, PANLength: 16, CVN: st.cvn, AID: st.aid, ServiceCode: "201",
			IMKACRef: keys["imk-ac"], IMKSMIRef: keys["imk-smi"], IMKSMCRef: keys["imk-smc"], CVKRef: keys["cvk"], PVKRef: keys["pvk"],
			PINMethod: issuance.PINMethodPVV, PVKI: "1", CreatedAt: now,
		}
		catalog.ValidateTemplate(&v, t)
		s.Templates = append(s.Templates, t)
		if st.cvn == sandboxDefaultCVN {
			defaultTemplate = t.ID
		}
	}
	emb := issuance.Embosser{ID: issuance.NewID(issuance.EmbosserIDPrefix, now), TenantID: tenantID, Name: "Sandbox loopback embosser",
		Type: issuance.EmbosserLoopback, KEKRef: keys["kek"], CreatedAt: now}
	lay := issuance.Layout{ID: issuance.NewID(issuance.LayoutIDPrefix, now), TenantID: tenantID, Layout: "sandbox-default",
		Name: "Sandbox default layout", CreatedAt: now}
	prd := issuance.Product{ID: issuance.NewID(issuance.ProductIDPrefix, now), TenantID: tenantID, Name: "Sandbox virtual card",
		Description: "seeded sandbox product (Visa CVN 18)", LayoutID: lay.ID, TemplateID: defaultTemplate, DefaultEmbosserID: emb.ID,
		Currency: "USD", CardType: issuance.CardVirtual, Status: issuance.ProductActive, ValidityMonths: 36, CreatedAt: now, UpdatedAt: now}
	catalog.ValidateProduct(&v, prd)
	if err := v.Err(); err != nil {
		return s, fmt.Errorf("building the sandbox catalog: %w", err)
	}
	s.Embossers, s.Layouts, s.Products = []issuance.Embosser{emb}, []issuance.Layout{lay}, []issuance.Product{prd}
	return s, nil
}

// bootstrapSandbox creates the sandbox tenant on the first start and
// returns its API key (shown once; "" when tenants already existed), then
// registers the sandbox acquirer and seeds every sandbox tenant not seeded
// yet.
func bootstrapSandbox(ctx context.Context, a *App) (string, error) {
	ts, err := a.svc.Tenants(ctx)
	if err != nil {
		return "", err
	}
	var secret string
	if len(ts) == 0 {
		t, s, err := a.svc.CreateTenant(ctx, "Sandbox", true, []string{issuance.ScopeReveal})
		if err != nil {
			return "", fmt.Errorf("creating sandbox tenant: %w", err)
		}
		a.log.Info("sandbox: created tenant", "tenant_id", t.ID)
		secret, ts = s, []issuance.Tenant{t}
	}
	d := seedDepsOf(a)
	if err := ensureSandboxAcquirer(ctx, d, a.out); err != nil {
		return "", err
	}
	for _, t := range ts {
		if !t.Sandbox {
			continue
		}
		if err := seedSandboxTenant(ctx, d, t.ID, a.out); err != nil {
			return "", fmt.Errorf("seeding sandbox tenant %s: %w", t.ID, err)
		}
	}
	return secret, nil
}

// seedSandboxTenantCmd seeds a tenant made by `cardhost tenants create
// --sandbox`: it opens the HSM and makes sure the platform keys exist
// first (in sandbox mode), then seeds the tenant.
func seedSandboxTenantCmd(ctx context.Context, cfg Config, db *postgres.DB, log *slog.Logger, tenantID string, out io.Writer) error {
	hsm, err := openHSM(cfg, db, log)
	if err != nil {
		return err
	}
	defer hsm.Purge()
	d := seedDeps{db: db, hsm: hsm, log: log, now: time.Now}
	if cfg.Mode == "sandbox" {
		if err := ensurePlatformKeys(ctx, d, out); err != nil {
			return err
		}
	}
	return seedSandboxTenant(ctx, d, tenantID, out)
}
