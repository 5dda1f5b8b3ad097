package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/emv/softhsm"
	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/postgres"
)

// PublishedKey is a sandbox key made from published test components, with
// their check values, the clear key (their XOR) and its check value. Never
// use one outside the sandbox: its clear value is public (docs/sandbox.md).
type PublishedKey struct {
	Type                      emv.KeyType
	Spec                      emv.KeySpec
	Components, ComponentKCVs []string
	Clear, KCV                string
}

var (
	// TransportKEK makes every sandbox tenant's transport key (AES-256 KEK,
	// AES-CMAC KCV), under which personalisation records are exported for
	// the terminal simulator: component 1 is the key block protection key of
	// ASC X9 TR-31:2018 Annex A.7.4, component 2 the AES-256 key of the
	// Thales payShield key block example in openemv/tr31's tests (test8).
	TransportKEK = PublishedKey{
		Type:          emv.KeyKEK,
		Spec:          emv.KeySpecAES256,
		Components:    []string{"88E1AB2A2E3DD38C1FA039A536500CC8A87AB9D62DC92C01058FA79F44657DE6", "BE19E6A07A760F10EF8E83A226B63AAD141F463FDDD4F47DB244B4023EC3CACC"},
		ComponentKCVs: []string{"233155", "0A00E3"},
		Clear:         "36F84D8A544BDC9CF02EBA0710E63665BC65FFE9F01DD87CB7CB139D7AA6B72A",
		KCV:           "A25E84",
	}
	// AcquirerZPK makes the sandbox acquirer's zone PIN key (double length
	// TDES): the three key parts of EFTlab's BP-CCALC tutorial "Key exchange
	// session preparation", with their published check values.
	AcquirerZPK = PublishedKey{
		Type:          emv.KeyZPK,
		Spec:          emv.KeySpecTDES2,
		Components:    []string{"3B577FB3FD756DDFE62F6B52751580E0", "D9CDE338A104A789859E76150B543251", "1032D0581A31D64FADD08991945E0D3E"},
		ComponentKCVs: []string{"CAEBAA", "DF9B9A", "83EBC1"},
		Clear:         "F2A84CD346401C19CE6194D6EA1FBF8F",
		KCV:           "DDA8BA",
	}
)

// The sandbox acquirer (field 32).
const (
	AcquirerID   = "00000000001"
	acquirerName = "Sandbox acquirer"
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

// keyLine prints one seeded key.
func keyLine(tw io.Writer, role string, k softhsm.KeyInfo, note string) {
	fmt.Fprintf(tw, "  %s\t%s\t%s\tKCV %s\t%s\n", role, k.Ref, k.Type, k.KCV, note)
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
		var sb strings.Builder
		tw := tabwriter.NewWriter(&sb, 2, 4, 2, ' ', 0)
		for _, role := range missing {
			typ, _ := issuance.KeyRoleType(role)
			info, err := d.HSM.GenerateKey(ctx, softhsm.KeyRequest{Type: typ, Label: "sandbox " + role})
			if err != nil {
				return fmt.Errorf("generating the %s key: %w", role, err)
			}
			if _, err := d.DB.AssignKeyRole(ctx, role, info.Ref, false); err != nil {
				return err
			}
			keyLine(tw, role, info, "")
			d.Log.Info("sandbox: assigned platform key", "role", role, "ref", info.Ref)
		}
		tw.Flush()
		fmt.Fprintf(d.Out, "sandbox: platform keys generated and assigned:\n%s\n", sb.String())
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

// ensureAcquirer registers the sandbox acquirer with its ZPK
// imported from the published components, unless it exists.
func (d *Seeder) ensureAcquirer(ctx context.Context) error {
	return d.DB.WithSeedLock(ctx, func(ctx context.Context) error {
		_, err := d.DB.AcquirerZPK(ctx, AcquirerID)
		if err == nil {
			return nil
		}
		if !errors.Is(err, issuance.ErrNotFound) {
			return err
		}
		zpk, err := d.importKey(ctx, "", "sandbox acquirer ZPK", AcquirerZPK)
		if err != nil {
			return fmt.Errorf("importing the sandbox ZPK: %w", err)
		}
		if err := d.DB.CreateAcquirer(ctx, postgres.Acquirer{ID: AcquirerID, Name: acquirerName, ZPKRef: zpk.Ref, CreatedAt: d.now().UTC()}); err != nil {
			return err
		}
		fmt.Fprintf(d.Out, "sandbox: acquirer %s (%s), zone PIN key %s, KCV %s (published test components, docs/sandbox.md)\n\n",
			AcquirerID, acquirerName, zpk.Ref, zpk.KCV)
		return nil
	})
}

// tenantKeys are the per-tenant key roles seeding creates.
var tenantKeys = []struct {
	role string
	typ  emv.KeyType
}{
	{"imk-ac", emv.KeyIMKAC}, {"imk-smi", emv.KeyIMKSMI}, {"imk-smc", emv.KeyIMKSMC}, {"cvk", emv.KeyCVK}, {"pvk", emv.KeyPVK}, {"kek", emv.KeyKEK},
}

// templates are the seeded data prep templates: one per supported
// CVN, each IIN ending with its CVN so that a PAN tells its CVN.
var templates = []struct {
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

// defaultCVN is the template of the seeded default product.
const defaultCVN = 18

// SeedTenant gives a sandbox tenant its own keys (IMK-AC, IMK-SMI,
// IMK-SMC, CVK, PVK generated; the transport KEK imported from the
// published components) and a catalog: one template per CVN, the loopback
// embosser, a default layout and an ACTIVE default product (USD, VIRTUAL,
// 36 months). It does nothing for a tenant seeded before, and a seed
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
		var sb strings.Builder
		tw := tabwriter.NewWriter(&sb, 2, 4, 2, ' ', 0)
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
				keyLine(tw, k.role, info, note)
			}
			roles[k.role] = info.Ref
		}
		tw.Flush()

		seed, err := catalog(tenantID, roles, d.now().UTC())
		if err != nil {
			return err
		}
		if err := d.DB.SeedCatalog(ctx, seed); err != nil {
			return fmt.Errorf("seeding the sandbox catalog: %w", err)
		}
		p := seed.Products[0]
		fmt.Fprintf(d.Out, "sandbox: tenant %s seeded\n%s  product %s (%s), %d data prep templates (%s), embosser %s, layout %s\n\n",
			tenantID, sb.String(), p.ID, p.Name, len(seed.Templates), templateCVNs(), p.DefaultEmbosserID, p.LayoutID)
		d.Log.Info("sandbox: seeded tenant", "tenant_id", tenantID, "product_id", p.ID)
		return nil
	})
}

// catalog builds a tenant's seeded catalog, checked by the same
// rules as the API's.
func catalog(tenantID string, keys map[string]string, now time.Time) (postgres.CatalogSeed, error) {
	s := postgres.CatalogSeed{TenantID: tenantID, At: now}
	var v issuance.Validator
	var defaultTemplate string
	for _, st := range templates {
		t := issuance.Template{
			ID: issuance.NewID(issuance.TemplateIDPrefix, now), TenantID: tenantID,
			Name: fmt.Sprintf("Sandbox %s CVN %d", networkName(st.network), st.cvn), Description: "seeded sandbox template",
			Network: st.network, IIN: st.iin, PANLength: 16, CVN: st.cvn, AID: st.aid, ServiceCode: "201",
			IMKACRef: keys["imk-ac"], IMKSMIRef: keys["imk-smi"], IMKSMCRef: keys["imk-smc"], CVKRef: keys["cvk"], PVKRef: keys["pvk"],
			PINMethod: issuance.PINMethodPVV, PVKI: "1", CreatedAt: now,
		}
		issuance.ValidateTemplate(&v, t)
		s.Templates = append(s.Templates, t)
		if st.cvn == defaultCVN {
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
	issuance.ValidateProduct(&v, prd)
	if err := v.Err(); err != nil {
		return s, fmt.Errorf("building the sandbox catalog: %w", err)
	}
	s.Embossers, s.Layouts, s.Products = []issuance.Embosser{emb}, []issuance.Layout{lay}, []issuance.Product{prd}
	return s, nil
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
	for _, t := range ts {
		if !t.Sandbox {
			continue
		}
		if err := d.SeedTenant(ctx, t.ID); err != nil {
			return "", fmt.Errorf("seeding sandbox tenant %s: %w", t.ID, err)
		}
	}
	return secret, nil
}

// templateCVNs lists the seeded templates' CVNs network by network, as the
// report prints them: "Visa CVN 10/18/22, Mastercard CVN 16/17/20/21".
func templateCVNs() string {
	var parts []string
	for i, t := range templates {
		n := strconv.Itoa(t.cvn)
		if i > 0 && templates[i-1].network == t.network {
			parts[len(parts)-1] += "/" + n
			continue
		}
		parts = append(parts, networkName(t.network)+" CVN "+n)
	}
	return strings.Join(parts, ", ")
}

// networkName is how the report and the template names spell a network.
func networkName(n issuance.Network) string {
	if n == issuance.NetworkMastercard {
		return "Mastercard"
	}
	return "Visa"
}
