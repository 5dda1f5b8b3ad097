package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/ca"
	"github.com/cardhost/cardhost/kafka"
)

// Issuer certificates (ca.Store).

const certificateColumns = `id, tenant_id, hsm_key_reference, serial, subject, fingerprint, public_key_fingerprint,
	public_key_pem, certificate_pem, not_before, not_after, status, created_at`

func scanCertificate(row pgx.Row) (ca.Certificate, error) {
	var c ca.Certificate
	var status string
	err := row.Scan(&c.ID, &c.TenantID, &c.HSMKeyReference, &c.Serial, &c.Subject, &c.Fingerprint, &c.PublicKeyFingerprint,
		&c.PublicKeyPEM, &c.CertificatePEM, &c.NotBefore, &c.NotAfter, &status, &c.CreatedAt)
	c.Status = ca.Status(status)
	c.NotBefore, c.NotAfter, c.CreatedAt = c.NotBefore.UTC(), c.NotAfter.UTC(), c.CreatedAt.UTC()
	return c, err
}

// CreateCertificate implements ca.Store. A transaction
// lock on (tenant, public key) makes two concurrent CSRs for one new key
// agree on one hsm_key_reference.
func (db *DB) CreateCertificate(ctx context.Context, c ca.Certificate, events []kafka.Event) (ca.Certificate, error) {
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('cardhost.certificate.' || $1 || '.' || $2))`,
			c.TenantID, c.PublicKeyFingerprint); err != nil {
			return fmt.Errorf("locking certificate key: %w", err)
		}
		var ref string
		err := tx.QueryRow(ctx, `SELECT hsm_key_reference FROM certificates WHERE tenant_id = $1 AND public_key_fingerprint = $2
			ORDER BY created_at LIMIT 1`, c.TenantID, c.PublicKeyFingerprint).Scan(&ref)
		switch {
		case err == nil:
			c.HSMKeyReference = ref
		case !errors.Is(err, pgx.ErrNoRows):
			return fmt.Errorf("reading certificate key: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO certificates (`+certificateColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
			c.ID, c.TenantID, c.HSMKeyReference, c.Serial, c.Subject, c.Fingerprint, c.PublicKeyFingerprint,
			c.PublicKeyPEM, c.CertificatePEM, c.NotBefore, c.NotAfter, string(c.Status), c.CreatedAt); err != nil {
			return fmt.Errorf("inserting certificate: %w", err)
		}
		return insertEvents(ctx, tx, events)
	})
	return c, err
}

// Certificate implements ca.Store.
func (db *DB) Certificate(ctx context.Context, tenantID, id string) (ca.Certificate, error) {
	return catalogGet(ctx, db, "certificate", `SELECT `+certificateColumns+` FROM certificates WHERE tenant_id = $1 AND id = $2`,
		scanCertificate, tenantID, id)
}

// Certificates implements ca.Store.
func (db *DB) Certificates(ctx context.Context, tenantID string, p issuance.PageRequest) ([]ca.Certificate, bool, error) {
	return catalogList(ctx, db, "certificates", `SELECT `+certificateColumns+` FROM certificates WHERE tenant_id = $1`+catalogPageSQL(2, 3),
		p.Size(), scanCertificate, tenantID, p.StartingAfter, p.Size()+1)
}

// IssuerPublicKey implements ca.Store: the public key (PEM)
// an issuer's certificates certify under hsm_key_reference ref, and the
// latest not_after among the unexpired, unrevoked ones. It answers
// issuance.ErrNotFound for an unknown reference, another tenant's, or one
// whose certificates have all expired.
func (db *DB) IssuerPublicKey(ctx context.Context, tenantID, ref string) ([]byte, time.Time, error) {
	var pemText string
	var notAfter time.Time
	err := db.pool.QueryRow(ctx, `SELECT public_key_pem, not_after FROM certificates
		WHERE tenant_id = $1 AND hsm_key_reference = $2 AND status = 'ACTIVE' AND not_after > $3
		ORDER BY not_after DESC LIMIT 1`, tenantID, ref, db.Now()).Scan(&pemText, &notAfter)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, time.Time{}, issuance.ErrNotFound
	}
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("reading issuer public key: %w", err)
	}
	return []byte(pemText), notAfter.UTC(), nil
}

// MarkExpiringCertificates implements ca.Store.
func (db *DB) MarkExpiringCertificates(ctx context.Context, before time.Time, limit int, events func(ca.Certificate) ([]kafka.Event, error)) (int, error) {
	n := 0
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		now := db.Now()
		rows, err := tx.Query(ctx, `SELECT `+certificateColumns+` FROM certificates
			WHERE expiring_notified_at IS NULL AND status = 'ACTIVE' AND not_after > $1 AND not_after <= $2
			ORDER BY not_after LIMIT $3 FOR UPDATE SKIP LOCKED`, now, before, limit)
		if err != nil {
			return fmt.Errorf("finding expiring certificates: %w", err)
		}
		certs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ca.Certificate, error) { return scanCertificate(r) })
		if err != nil {
			return fmt.Errorf("finding expiring certificates: %w", err)
		}
		if len(certs) == 0 {
			return nil
		}
		ids := make([]string, len(certs))
		var all []kafka.Event
		for i, c := range certs {
			ids[i] = c.ID
			evs, err := events(c)
			if err != nil {
				return err
			}
			all = append(all, evs...)
		}
		if _, err := tx.Exec(ctx, `UPDATE certificates SET expiring_notified_at = $2 WHERE id = ANY($1)`, ids, now); err != nil {
			return fmt.Errorf("marking expiring certificates: %w", err)
		}
		if err := insertEvents(ctx, tx, all); err != nil {
			return err
		}
		n = len(certs)
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}
