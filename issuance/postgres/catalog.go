package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/cvv2"
)

// The catalog: data prep templates, embossers, card layouts, card products
// and cardholders. Every query filters on tenant_id; another tenant's id
// answers issuance.ErrNotFound exactly as a missing one.

var _ issuance.CatalogStore = (*DB)(nil)

// --- templates, embossers, layouts: created, read by id, listed

var templates = &tenantTable[issuance.Template]{
	what: "data prep template", plural: "data prep templates", table: "data_prep_templates",
	columns: `id, tenant_id, name, description, network, iin, pan_length, cvn, aid, service_code,
	imk_ac_ref, imk_smi_ref, imk_smc_ref, cvk_ref, pvk_ref, pin_method, pvki, created_at`,
	scan: func(row pgx.Row) (issuance.Template, error) {
		var t issuance.Template
		var network string
		err := row.Scan(&t.ID, &t.TenantID, &t.Name, &t.Description, &network, &t.IIN, &t.PANLength, &t.CVN, &t.AID, &t.ServiceCode,
			&t.IMKACRef, &t.IMKSMIRef, &t.IMKSMCRef, &t.CVKRef, &t.PVKRef, &t.PINMethod, &t.PVKI, &t.CreatedAt)
		t.Network, t.CreatedAt = issuance.Network(network), t.CreatedAt.UTC()
		return t, err
	},
	values: func(t issuance.Template) ([]any, error) {
		return []any{t.ID, t.TenantID, t.Name, t.Description, string(t.Network), t.IIN, t.PANLength, t.CVN, t.AID, t.ServiceCode,
			t.IMKACRef, t.IMKSMIRef, t.IMKSMCRef, t.CVKRef, t.PVKRef, t.PINMethod, t.PVKI, t.CreatedAt}, nil
	},
}

var embossers = &tenantTable[issuance.Embosser]{
	what: "embosser", plural: "embossers", table: "embossers",
	columns: `id, tenant_id, name, type, kek_ref, manual_issue, created_at`,
	scan: func(row pgx.Row) (issuance.Embosser, error) {
		var e issuance.Embosser
		err := row.Scan(&e.ID, &e.TenantID, &e.Name, &e.Type, &e.KEKRef, &e.ManualIssue, &e.CreatedAt)
		e.CreatedAt = e.CreatedAt.UTC()
		return e, err
	},
	values: func(e issuance.Embosser) ([]any, error) {
		return []any{e.ID, e.TenantID, e.Name, e.Type, e.KEKRef, e.ManualIssue, e.CreatedAt}, nil
	},
}

var layouts = &tenantTable[issuance.Layout]{
	what: "card layout", plural: "card layouts", table: "card_layouts",
	columns: `id, tenant_id, layout, name, description, created_at`,
	scan: func(row pgx.Row) (issuance.Layout, error) {
		var l issuance.Layout
		err := row.Scan(&l.ID, &l.TenantID, &l.Layout, &l.Name, &l.Description, &l.CreatedAt)
		l.CreatedAt = l.CreatedAt.UTC()
		return l, err
	},
	values: func(l issuance.Layout) ([]any, error) {
		return []any{l.ID, l.TenantID, l.Layout, l.Name, l.Description, l.CreatedAt}, nil
	},
}

// CreateTemplate implements issuance.CatalogStore.
func (db *DB) CreateTemplate(ctx context.Context, t issuance.Template) error {
	return templates.create(ctx, db, t)
}

// Template implements issuance.CatalogReader.
func (db *DB) Template(ctx context.Context, tenantID, id string) (issuance.Template, error) {
	return templates.get(ctx, db, tenantID, id)
}

// Templates implements issuance.CatalogStore.
func (db *DB) Templates(ctx context.Context, tenantID string, p issuance.PageRequest) ([]issuance.Template, bool, error) {
	return templates.list(ctx, db, tenantID, p)
}

// CreateEmbosser implements issuance.CatalogStore.
func (db *DB) CreateEmbosser(ctx context.Context, e issuance.Embosser) error {
	return embossers.create(ctx, db, e)
}

// Embosser implements issuance.CatalogReader.
func (db *DB) Embosser(ctx context.Context, tenantID, id string) (issuance.Embosser, error) {
	return embossers.get(ctx, db, tenantID, id)
}

// Embossers implements issuance.CatalogStore.
func (db *DB) Embossers(ctx context.Context, tenantID string, p issuance.PageRequest) ([]issuance.Embosser, bool, error) {
	return embossers.list(ctx, db, tenantID, p)
}

// CreateLayout implements issuance.CatalogStore.
func (db *DB) CreateLayout(ctx context.Context, l issuance.Layout) error {
	return layouts.create(ctx, db, l)
}

// Layout implements issuance.CatalogReader.
func (db *DB) Layout(ctx context.Context, tenantID, id string) (issuance.Layout, error) {
	return layouts.get(ctx, db, tenantID, id)
}

// Layouts implements issuance.CatalogStore.
func (db *DB) Layouts(ctx context.Context, tenantID string, p issuance.PageRequest) ([]issuance.Layout, bool, error) {
	return layouts.list(ctx, db, tenantID, p)
}

// --- products and cardholders: also filtered and updated

var products = &tenantTable[issuance.Product]{
	what: "card product", plural: "card products", table: "card_products", fkNotFound: true,
	columns: `id, tenant_id, name, description, layout_id, template_id, default_embosser_id, currency, card_type,
	status, validity_months, card_limit, spending_controls, risk_controls, required_cardholder_fields, require_kyc, cvv2_policy, cvv2_max_tries,
	created_at, updated_at`,
	scan: scanProduct,
	values: func(p issuance.Product) ([]any, error) {
		spending, risk, fields, err := productArgs(p)
		return []any{p.ID, p.TenantID, p.Name, p.Description, p.LayoutID, p.TemplateID, p.DefaultEmbosserID, p.Currency, string(p.CardType),
			string(p.Status), p.ValidityMonths, p.CardLimit, spending, risk, fields, p.RequireKYC, cvv2Policy(p.CVV2Policy), cvv2MaxTries(p.CVV2MaxTries),
			p.CreatedAt, p.UpdatedAt}, err
	},
}

func scanProduct(row pgx.Row) (issuance.Product, error) {
	var p issuance.Product
	var cardType, status string
	var spending, risk []byte
	err := row.Scan(&p.ID, &p.TenantID, &p.Name, &p.Description, &p.LayoutID, &p.TemplateID, &p.DefaultEmbosserID, &p.Currency, &cardType,
		&status, &p.ValidityMonths, &p.CardLimit, &spending, &risk, &p.RequiredCardholderFields, &p.RequireKYC, &p.CVV2Policy, &p.CVV2MaxTries,
		&p.CreatedAt, &p.UpdatedAt)
	if err != nil {
		return p, err
	}
	p.CardType, p.Status = issuance.CardType(cardType), issuance.ProductStatus(status)
	p.CreatedAt, p.UpdatedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC()
	if len(p.RequiredCardholderFields) == 0 {
		p.RequiredCardholderFields = nil
	}
	if err := json.Unmarshal(spending, &p.SpendingControls); err != nil {
		return p, fmt.Errorf("decoding spending controls: %w", err)
	}
	if len(p.SpendingControls) == 0 {
		p.SpendingControls = nil
	}
	if err := json.Unmarshal(risk, &p.RiskControls); err != nil {
		return p, fmt.Errorf("decoding risk controls: %w", err)
	}
	return p, nil
}

// cvv2Policy and cvv2MaxTries store a product's or card's CVV2 rules, the
// defaults (issuance/cvv2) for an object made without them.
func cvv2Policy(p string) string {
	if p == "" {
		return cvv2.Required
	}
	return p
}

func cvv2MaxTries(n int) int {
	if n <= 0 {
		return cvv2.DefaultMaxTries
	}
	return n
}

// productArgs returns the JSON and array columns of a product.
func productArgs(p issuance.Product) (spending, risk []byte, fields []string, err error) {
	sc := p.SpendingControls
	if sc == nil {
		sc = []issuance.SpendingControl{}
	}
	if spending, err = json.Marshal(sc); err != nil {
		return nil, nil, nil, fmt.Errorf("encoding spending controls: %w", err)
	}
	if risk, err = json.Marshal(p.RiskControls); err != nil {
		return nil, nil, nil, fmt.Errorf("encoding risk controls: %w", err)
	}
	fields = p.RequiredCardholderFields
	if fields == nil {
		fields = []string{}
	}
	return spending, risk, fields, nil
}

// CreateProduct implements issuance.CatalogStore.
func (db *DB) CreateProduct(ctx context.Context, p issuance.Product) error {
	return products.create(ctx, db, p)
}

// Product implements issuance.CatalogReader.
func (db *DB) Product(ctx context.Context, tenantID, id string) (issuance.Product, error) {
	return products.get(ctx, db, tenantID, id)
}

// Products implements issuance.CatalogStore.
func (db *DB) Products(ctx context.Context, tenantID string, f issuance.ProductFilter) ([]issuance.Product, bool, error) {
	return products.list(ctx, db, tenantID, f.PageRequest, eq("status", string(f.Status)))
}

// UpdateProduct implements issuance.CatalogStore.
func (db *DB) UpdateProduct(ctx context.Context, tenantID, id string, fn func(*issuance.Product) error) (issuance.Product, error) {
	return updateRow(ctx, db, products.what, products.byID(), scanProduct, tenantID, id, fn, func(tx pgx.Tx, p issuance.Product) error {
		spending, risk, fields, err := productArgs(p)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE card_products SET name = $3, description = $4, layout_id = $5, default_embosser_id = $6,
			status = $7, validity_months = $8, card_limit = $9, spending_controls = $10, risk_controls = $11,
			required_cardholder_fields = $12, require_kyc = $13, updated_at = $14, cvv2_policy = $15, cvv2_max_tries = $16
			WHERE tenant_id = $1 AND id = $2`,
			tenantID, id, p.Name, p.Description, p.LayoutID, p.DefaultEmbosserID, string(p.Status), p.ValidityMonths, p.CardLimit,
			spending, risk, fields, p.RequireKYC, p.UpdatedAt, cvv2Policy(p.CVV2Policy), cvv2MaxTries(p.CVV2MaxTries))
		if fkViolation(err) {
			return issuance.ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("updating card product: %w", err)
		}
		return nil
	})
}

var cardholders = &tenantTable[issuance.Cardholder]{
	what: "cardholder", plural: "cardholders", table: "cardholders",
	columns: `id, tenant_id, first_name, last_name, email, phone, birth_date, nationality, address, kyc_status, created_at, updated_at`,
	scan:    scanCardholder,
	values: func(c issuance.Cardholder) ([]any, error) {
		birth, addr, err := cardholderArgs(c)
		return []any{c.ID, c.TenantID, c.FirstName, c.LastName, c.Email, c.Phone, birth, c.Nationality, addr, string(c.KYCStatus),
			c.CreatedAt, c.UpdatedAt}, err
	},
}

func scanCardholder(row pgx.Row) (issuance.Cardholder, error) {
	var c issuance.Cardholder
	var birth *time.Time
	var addr []byte
	var kyc string
	err := row.Scan(&c.ID, &c.TenantID, &c.FirstName, &c.LastName, &c.Email, &c.Phone, &birth, &c.Nationality, &addr, &kyc, &c.CreatedAt, &c.UpdatedAt)
	if err != nil {
		return c, err
	}
	if birth != nil {
		c.BirthDate = birth.Format(time.DateOnly)
	}
	if len(addr) > 0 && string(addr) != "null" {
		c.Address = new(issuance.Address)
		if err := json.Unmarshal(addr, c.Address); err != nil {
			return c, fmt.Errorf("decoding address: %w", err)
		}
	}
	c.KYCStatus = issuance.KYCStatus(kyc)
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return c, nil
}

// cardholderArgs returns the date and JSON columns of a cardholder.
func cardholderArgs(c issuance.Cardholder) (*time.Time, []byte, error) {
	var birth *time.Time
	if c.BirthDate != "" {
		b, err := time.Parse(time.DateOnly, c.BirthDate)
		if err != nil {
			return nil, nil, fmt.Errorf("encoding birth date: %w", err)
		}
		birth = &b
	}
	var addr []byte
	if c.Address != nil {
		var err error
		if addr, err = json.Marshal(c.Address); err != nil {
			return nil, nil, fmt.Errorf("encoding address: %w", err)
		}
	}
	return birth, addr, nil
}

// CreateCardholder implements issuance.CatalogStore.
func (db *DB) CreateCardholder(ctx context.Context, c issuance.Cardholder) error {
	return cardholders.create(ctx, db, c)
}

// Cardholder implements issuance.CatalogReader.
func (db *DB) Cardholder(ctx context.Context, tenantID, id string) (issuance.Cardholder, error) {
	return cardholders.get(ctx, db, tenantID, id)
}

// Cardholders implements issuance.CatalogStore.
func (db *DB) Cardholders(ctx context.Context, tenantID string, f issuance.CardholderFilter) ([]issuance.Cardholder, bool, error) {
	return cardholders.list(ctx, db, tenantID, f.PageRequest, eq("kyc_status", string(f.KYCStatus)))
}

// UpdateCardholder implements issuance.CatalogStore.
func (db *DB) UpdateCardholder(ctx context.Context, tenantID, id string, fn func(*issuance.Cardholder) error) (issuance.Cardholder, error) {
	return updateRow(ctx, db, cardholders.what, cardholders.byID(), scanCardholder, tenantID, id, fn, func(tx pgx.Tx, c issuance.Cardholder) error {
		birth, addr, err := cardholderArgs(c)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE cardholders SET first_name = $3, last_name = $4, email = $5, phone = $6, birth_date = $7,
			nationality = $8, address = $9, kyc_status = $10, updated_at = $11 WHERE tenant_id = $1 AND id = $2`,
			tenantID, id, c.FirstName, c.LastName, c.Email, c.Phone, birth, c.Nationality, addr, string(c.KYCStatus), c.UpdatedAt); err != nil {
			return fmt.Errorf("updating cardholder: %w", err)
		}
		return nil
	})
}

// --- HSM key directory

// HSMKey implements issuance.CatalogStore: the active, unexpired version of
// a key, from the key store's clear metadata (never its material).
func (db *DB) HSMKey(ctx context.Context, ref string) (issuance.KeyMeta, error) {
	return getRow(ctx, db, "HSM key", `SELECT ref, type, tenant_id, kcv FROM hsm_keys
		WHERE ref = $1 AND status = 'active' AND activated_at <= $2 AND (expires_at IS NULL OR expires_at > $2)
		ORDER BY version DESC LIMIT 1`,
		func(row pgx.Row) (issuance.KeyMeta, error) {
			var k issuance.KeyMeta
			var typ string
			err := row.Scan(&k.Ref, &typ, &k.Tenant, &k.KCV)
			k.Type = emv.KeyType(typ)
			return k, err
		}, ref, db.Now())
}
