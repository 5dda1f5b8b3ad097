package sandbox

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/bins"
	"github.com/cardhost/cardhost/issuance/catalog"
	"github.com/cardhost/cardhost/issuance/cvv2"
	"github.com/cardhost/cardhost/issuance/postgres"
)

// templates are the seeded data prep templates: one per supported CVN.
// Each IIN is the tenant's BIN range of the network followed by the CVN, so
// that a PAN tells its CVN (rangeOf).
var templates = []struct {
	network issuance.Network
	cvn     int
	aid     string
}{
	{issuance.NetworkVisa, 10, "A0000000031010"},
	{issuance.NetworkVisa, 18, "A0000000031010"},
	{issuance.NetworkVisa, 22, "A0000000031010"},
	{issuance.NetworkMastercard, 16, "A0000000041010"},
	{issuance.NetworkMastercard, 17, "A0000000041010"},
	{issuance.NetworkMastercard, 20, "A0000000041010"},
	{issuance.NetworkMastercard, 21, "A0000000041010"},
	{issuance.NetworkUnionPay, 1, "A000000333010101"},
}

// Every sandbox tenant gets its own block of BIN ranges, so that no two
// tenants share card numbers: block n is the Visa range 40nnnn, the
// Mastercard range 51nnnn and the UnionPay range 62nnnn (block 0, 400000,
// 510000 and 620000, holds the IINs the first sandbox tenant always had:
// 40000018...).
const blocks = 10000

// rangeOf is the BIN range of a network in block n.
func rangeOf(n issuance.Network, block int) string {
	switch n {
	case issuance.NetworkMastercard:
		return fmt.Sprintf("51%04d", block)
	case issuance.NetworkUnionPay:
		return fmt.Sprintf("62%04d", block)
	}
	return fmt.Sprintf("40%04d", block)
}

// freeBlock returns the lowest block from start on none of whose ranges
// overlaps a range of taken; ok is false when every block is taken.
func freeBlock(taken []bins.Range, start int) (block int, ok bool) {
	for b := start; b < blocks; b++ {
		free := true
		for _, r := range taken {
			for _, n := range emv.Networks() {
				if bins.Overlap(r.Prefix, rangeOf(n, b)) {
					free = false
				}
			}
		}
		if free {
			return b, true
		}
	}
	return 0, false
}

// defaultCVN is the template of the seeded default product.
const defaultCVN = 18

// buildCatalog builds a tenant's seeded catalog in a block of BIN ranges,
// checked by the same rules as the API's.
func buildCatalog(tenantID string, keys map[string]string, block int, now time.Time) (postgres.CatalogSeed, error) {
	s := postgres.CatalogSeed{TenantID: tenantID, At: now}
	for _, n := range emv.Networks() {
		s.BINRanges = append(s.BINRanges, bins.Range{Prefix: rangeOf(n, block), TenantID: tenantID, CreatedAt: now})
	}
	var v issuance.Validator
	var defaultTemplate string
	for _, st := range templates {
		t := issuance.Template{
			ID: issuance.NewID(issuance.TemplateIDPrefix, now), TenantID: tenantID,
			Name: fmt.Sprintf("Sandbox %s CVN %d", st.network.Name(), st.cvn), Description: "seeded sandbox template",
			Network: st.network, IIN: fmt.Sprintf("%s%02d", rangeOf(st.network, block), st.cvn), PANLength: 16, CVN: st.cvn, AID: st.aid, ServiceCode: "201",
			IMKACRef: keys["imk-ac"], IMKSMIRef: keys["imk-smi"], IMKSMCRef: keys["imk-smc"], CVKRef: keys["cvk"], PVKRef: keys["pvk"],
			PINMethod: issuance.PINMethodPVV, PVKI: "1", CreatedAt: now,
		}
		catalog.ValidateTemplate(&v, t)
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
		Currency: "USD", CardType: issuance.CardVirtual, Status: issuance.ProductActive, ValidityMonths: 36,
		CVV2Policy: cvv2.Required, CVV2MaxTries: cvv2.DefaultMaxTries, CreatedAt: now, UpdatedAt: now}
	catalog.ValidateProduct(&v, prd)
	if err := v.Err(); err != nil {
		return s, fmt.Errorf("building the sandbox catalog: %w", err)
	}
	s.Embossers, s.Layouts, s.Products = []issuance.Embosser{emb}, []issuance.Layout{lay}, []issuance.Product{prd}
	return s, nil
}

// templateCVNs lists the seeded templates' CVNs network by network, as the
// report prints them: "Visa CVN 10/18/22, Mastercard CVN 16/17/20/21,
// UnionPay CVN 1".
func templateCVNs() string {
	var parts []string
	for i, t := range templates {
		n := strconv.Itoa(t.cvn)
		if i > 0 && templates[i-1].network == t.network {
			parts[len(parts)-1] += "/" + n
			continue
		}
		parts = append(parts, t.network.Name()+" CVN "+n)
	}
	return strings.Join(parts, ", ")
}
