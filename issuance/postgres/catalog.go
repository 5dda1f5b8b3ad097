package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/issuance"
)

// The catalog: data prep templates, embossers, card layouts, card products
// and cardholders. Every query filters on tenant_id; another tenant's id
// answers issuance.ErrNotFound exactly as a missing one.

var _ issuance.CatalogStore = (*DB)(nil)

// catalogPageSQL is appended to a list query whose WHERE clause ends with the
// tenant filter: the cursor bound and the order (newest first), with one
// row more than the page to learn whether more follow.
func catalogPageSQL(argCursor, argLimit int) string {
	return fmt.Sprintf(` AND ($%d = '' OR id < $%d) ORDER BY id DESC LIMIT $%d`, argCursor, argCursor, argLimit)
}

// catalogList runs a list query and cuts the extra row into has_more.
func catalogList[T any](ctx context.Context, db *DB, what, query string, size int, scan func(pgx.Row) (T, error), args ...any) ([]T, bool, error) {
	rows, err := db.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, false, fmt.Errorf("listing %s: %w", what, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (T, error) { return scan(r) })
	if err != nil {
		return nil, false, fmt.Errorf("listing %s: %w", what, err)
	}
	more := len(out) > size
	if more {
		out = out[:size]
	}
	return out, more, nil
}

// catalogGet runs a single-row query; no row is issuance.ErrNotFound.
func catalogGet[T any](ctx context.Context, db *DB, what, query string, scan func(pgx.Row) (T, error), args ...any) (T, error) {
	v, err := scan(db.pool.QueryRow(ctx, query, args...))
	if errors.Is(err, pgx.ErrNoRows) {
		return v, issuance.ErrNotFound
	}
	if err != nil {
		return v, fmt.Errorf("reading %s: %w", what, err)
	}
	return v, nil
}

// catalogUpdate reads one row of a tenant (query selects it by tenant_id
// $1 and id $2) FOR UPDATE, lets fn change it and stores it with write, in
// one transaction; no row is issuance.ErrNotFound.
func catalogUpdate[T any](ctx context.Context, db *DB, what, query string, scan func(pgx.Row) (T, error),
	tenantID, id string, fn func(*T) error, write func(pgx.Tx, T) error) (T, error) {
	var out T
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		v, err := scan(tx.QueryRow(ctx, query+` FOR UPDATE`, tenantID, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return issuance.ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("reading %s: %w", what, err)
		}
		if err := fn(&v); err != nil {
			return err
		}
		if err := write(tx, v); err != nil {
			return err
		}
		out = v
		return nil
	})
	return out, err
}

// --- templates

const templateColumns = `id, tenant_id, name, description, network, iin, pan_length, cvn, aid, service_code,
	imk_ac_ref, imk_smi_ref, imk_smc_ref, cvk_ref, pvk_ref, pin_method, pvki, created_at`

func scanTemplate(row pgx.Row) (issuance.Template, error) {
	var t issuance.Template
	var network string
	err := row.Scan(&t.ID, &t.TenantID, &t.Name, &t.Description, &network, &t.IIN, &t.PANLength, &t.CVN, &t.AID, &t.ServiceCode,
		&t.IMKACRef, &t.IMKSMIRef, &t.IMKSMCRef, &t.CVKRef, &t.PVKRef, &t.PINMethod, &t.PVKI, &t.CreatedAt)
	t.Network, t.CreatedAt = issuance.Network(network), t.CreatedAt.UTC()
	return t, err
}

func insertTemplate(ctx context.Context, tx pgx.Tx, t issuance.Template) error {
	_, err := tx.Exec(ctx, `INSERT INTO data_prep_templates (`+templateColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`,
		t.ID, t.TenantID, t.Name, t.Description, string(t.Network), t.IIN, t.PANLength, t.CVN, t.AID, t.ServiceCode,
		t.IMKACRef, t.IMKSMIRef, t.IMKSMCRef, t.CVKRef, t.PVKRef, t.PINMethod, t.PVKI, t.CreatedAt)
	if err != nil {
		return fmt.Errorf("inserting data prep template: %w", err)
	}
	return nil
}

// CreateTemplate implements issuance.CatalogStore.
func (db *DB) CreateTemplate(ctx context.Context, t issuance.Template) error {
	return db.inTx(ctx, func(tx pgx.Tx) error { return insertTemplate(ctx, tx, t) })
}

// Template implements issuance.CatalogReader.
func (db *DB) Template(ctx context.Context, tenantID, id string) (issuance.Template, error) {
	return catalogGet(ctx, db, "data prep template", `SELECT `+templateColumns+` FROM data_prep_templates WHERE tenant_id = $1 AND id = $2`,
		scanTemplate, tenantID, id)
}

// Templates implements issuance.CatalogStore.
func (db *DB) Templates(ctx context.Context, tenantID string, p issuance.PageRequest) ([]issuance.Template, bool, error) {
	return catalogList(ctx, db, "data prep templates", `SELECT `+templateColumns+` FROM data_prep_templates WHERE tenant_id = $1`+catalogPageSQL(2, 3),
		p.Size(), scanTemplate, tenantID, p.StartingAfter, p.Size()+1)
}

// --- embossers

const embosserColumns = `id, tenant_id, name, type, kek_ref, manual_issue, created_at`

func scanEmbosser(row pgx.Row) (issuance.Embosser, error) {
	var e issuance.Embosser
	err := row.Scan(&e.ID, &e.TenantID, &e.Name, &e.Type, &e.KEKRef, &e.ManualIssue, &e.CreatedAt)
	e.CreatedAt = e.CreatedAt.UTC()
	return e, err
}

func insertEmbosser(ctx context.Context, tx pgx.Tx, e issuance.Embosser) error {
	_, err := tx.Exec(ctx, `INSERT INTO embossers (`+embosserColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		e.ID, e.TenantID, e.Name, e.Type, e.KEKRef, e.ManualIssue, e.CreatedAt)
	if err != nil {
		return fmt.Errorf("inserting embosser: %w", err)
	}
	return nil
}

// CreateEmbosser implements issuance.CatalogStore.
func (db *DB) CreateEmbosser(ctx context.Context, e issuance.Embosser) error {
	return db.inTx(ctx, func(tx pgx.Tx) error { return insertEmbosser(ctx, tx, e) })
}

// Embosser implements issuance.CatalogReader.
func (db *DB) Embosser(ctx context.Context, tenantID, id string) (issuance.Embosser, error) {
	return catalogGet(ctx, db, "embosser", `SELECT `+embosserColumns+` FROM embossers WHERE tenant_id = $1 AND id = $2`,
		scanEmbosser, tenantID, id)
}

// Embossers implements issuance.CatalogStore.
func (db *DB) Embossers(ctx context.Context, tenantID string, p issuance.PageRequest) ([]issuance.Embosser, bool, error) {
	return catalogList(ctx, db, "embossers", `SELECT `+embosserColumns+` FROM embossers WHERE tenant_id = $1`+catalogPageSQL(2, 3),
		p.Size(), scanEmbosser, tenantID, p.StartingAfter, p.Size()+1)
}

// --- layouts

const layoutColumns = `id, tenant_id, layout, name, description, created_at`

func scanLayout(row pgx.Row) (issuance.Layout, error) {
	var l issuance.Layout
	err := row.Scan(&l.ID, &l.TenantID, &l.Layout, &l.Name, &l.Description, &l.CreatedAt)
	l.CreatedAt = l.CreatedAt.UTC()
	return l, err
}

func insertLayout(ctx context.Context, tx pgx.Tx, l issuance.Layout) error {
	_, err := tx.Exec(ctx, `INSERT INTO card_layouts (`+layoutColumns+`) VALUES ($1, $2, $3, $4, $5, $6)`,
		l.ID, l.TenantID, l.Layout, l.Name, l.Description, l.CreatedAt)
	if err != nil {
		return fmt.Errorf("inserting card layout: %w", err)
	}
	return nil
}

// CreateLayout implements issuance.CatalogStore.
func (db *DB) CreateLayout(ctx context.Context, l issuance.Layout) error {
	return db.inTx(ctx, func(tx pgx.Tx) error { return insertLayout(ctx, tx, l) })
}

// Layout implements issuance.CatalogReader.
func (db *DB) Layout(ctx context.Context, tenantID, id string) (issuance.Layout, error) {
	return catalogGet(ctx, db, "card layout", `SELECT `+layoutColumns+` FROM card_layouts WHERE tenant_id = $1 AND id = $2`,
		scanLayout, tenantID, id)
}

// Layouts implements issuance.CatalogStore.
func (db *DB) Layouts(ctx context.Context, tenantID string, p issuance.PageRequest) ([]issuance.Layout, bool, error) {
	return catalogList(ctx, db, "card layouts", `SELECT `+layoutColumns+` FROM card_layouts WHERE tenant_id = $1`+catalogPageSQL(2, 3),
		p.Size(), scanLayout, tenantID, p.StartingAfter, p.Size()+1)
}

// --- products

const productColumns = `id, tenant_id, name, description, layout_id, template_id, default_embosser_id, currency, card_type,
	status, validity_months, card_limit, spending_controls, risk_controls, required_cardholder_fields, require_kyc, created_at, updated_at`

// productByID selects one product of a tenant ($1) by id ($2).
const productByID = `SELECT ` + productColumns + ` FROM card_products WHERE tenant_id = $1 AND id = $2`

func scanProduct(row pgx.Row) (issuance.Product, error) {
	var p issuance.Product
	var cardType, status string
	var spending, risk []byte
	err := row.Scan(&p.ID, &p.TenantID, &p.Name, &p.Description, &p.LayoutID, &p.TemplateID, &p.DefaultEmbosserID, &p.Currency, &cardType,
		&status, &p.ValidityMonths, &p.CardLimit, &spending, &risk, &p.RequiredCardholderFields, &p.RequireKYC, &p.CreatedAt, &p.UpdatedAt)
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

// catalogFKViolation reports whether err is a foreign_key_violation.
func catalogFKViolation(err error) bool { return catalogPGCode(err) == "23503" }

func insertProduct(ctx context.Context, tx pgx.Tx, p issuance.Product) error {
	spending, risk, fields, err := productArgs(p)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO card_products (`+productColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`,
		p.ID, p.TenantID, p.Name, p.Description, p.LayoutID, p.TemplateID, p.DefaultEmbosserID, p.Currency, string(p.CardType),
		string(p.Status), p.ValidityMonths, p.CardLimit, spending, risk, fields, p.RequireKYC, p.CreatedAt, p.UpdatedAt)
	if catalogFKViolation(err) {
		return issuance.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("inserting card product: %w", err)
	}
	return nil
}

// CreateProduct implements issuance.CatalogStore.
func (db *DB) CreateProduct(ctx context.Context, p issuance.Product) error {
	return db.inTx(ctx, func(tx pgx.Tx) error { return insertProduct(ctx, tx, p) })
}

// Product implements issuance.CatalogReader.
func (db *DB) Product(ctx context.Context, tenantID, id string) (issuance.Product, error) {
	return catalogGet(ctx, db, "card product", productByID, scanProduct, tenantID, id)
}

// Products implements issuance.CatalogStore.
func (db *DB) Products(ctx context.Context, tenantID string, f issuance.ProductFilter) ([]issuance.Product, bool, error) {
	return catalogList(ctx, db, "card products", `SELECT `+productColumns+` FROM card_products
		WHERE tenant_id = $1 AND ($2 = '' OR status = $2)`+catalogPageSQL(3, 4),
		f.Size(), scanProduct, tenantID, string(f.Status), f.StartingAfter, f.Size()+1)
}

// UpdateProduct implements issuance.CatalogStore.
func (db *DB) UpdateProduct(ctx context.Context, tenantID, id string, fn func(*issuance.Product) error) (issuance.Product, error) {
	return catalogUpdate(ctx, db, "card product", productByID, scanProduct, tenantID, id, fn, func(tx pgx.Tx, p issuance.Product) error {
		spending, risk, fields, err := productArgs(p)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE card_products SET name = $3, description = $4, layout_id = $5, default_embosser_id = $6,
			status = $7, validity_months = $8, card_limit = $9, spending_controls = $10, risk_controls = $11,
			required_cardholder_fields = $12, require_kyc = $13, updated_at = $14
			WHERE tenant_id = $1 AND id = $2`,
			tenantID, id, p.Name, p.Description, p.LayoutID, p.DefaultEmbosserID, string(p.Status), p.ValidityMonths, p.CardLimit,
			spending, risk, fields, p.RequireKYC, p.UpdatedAt)
		if catalogFKViolation(err) {
			return issuance.ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("updating card product: %w", err)
		}
		return nil
	})
}

// --- cardholders

const cardholderColumns = `id, tenant_id, first_name, last_name, email, phone, birth_date, nationality, address, kyc_status, created_at, updated_at`

// cardholderByID selects one cardholder of a tenant ($1) by id ($2).
const cardholderByID = `SELECT ` + cardholderColumns + ` FROM cardholders WHERE tenant_id = $1 AND id = $2`

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
	birth, addr, err := cardholderArgs(c)
	if err != nil {
		return err
	}
	return db.inTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO cardholders (`+cardholderColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
			c.ID, c.TenantID, c.FirstName, c.LastName, c.Email, c.Phone, birth, c.Nationality, addr, string(c.KYCStatus), c.CreatedAt, c.UpdatedAt)
		if err != nil {
			return fmt.Errorf("inserting cardholder: %w", err)
		}
		return nil
	})
}

// Cardholder implements issuance.CatalogReader.
func (db *DB) Cardholder(ctx context.Context, tenantID, id string) (issuance.Cardholder, error) {
	return catalogGet(ctx, db, "cardholder", cardholderByID, scanCardholder, tenantID, id)
}

// Cardholders implements issuance.CatalogStore.
func (db *DB) Cardholders(ctx context.Context, tenantID string, f issuance.CardholderFilter) ([]issuance.Cardholder, bool, error) {
	return catalogList(ctx, db, "cardholders", `SELECT `+cardholderColumns+` FROM cardholders
		WHERE tenant_id = $1 AND ($2 = '' OR kyc_status = $2)`+catalogPageSQL(3, 4),
		f.Size(), scanCardholder, tenantID, string(f.KYCStatus), f.StartingAfter, f.Size()+1)
}

// UpdateCardholder implements issuance.CatalogStore.
func (db *DB) UpdateCardholder(ctx context.Context, tenantID, id string, fn func(*issuance.Cardholder) error) (issuance.Cardholder, error) {
	return catalogUpdate(ctx, db, "cardholder", cardholderByID, scanCardholder, tenantID, id, fn, func(tx pgx.Tx, c issuance.Cardholder) error {
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
	return catalogGet(ctx, db, "HSM key", `SELECT ref, type, tenant_id, kcv FROM hsm_keys
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

// catalogPGCode returns the SQLSTATE of a PostgreSQL error, or "".
func catalogPGCode(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}
