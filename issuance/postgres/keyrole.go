package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cardhost/cardhost/issuance"
)

// Key roles: which HSM key plays each platform role (key_roles) and which
// keys sandbox seeding gave each tenant (tenant_key_roles).

// KeyRole is one platform role assignment.
type KeyRole struct {
	Role       string
	Ref        string
	AssignedAt time.Time
}

// KeyRoles lists the platform role assignments by role.
func (db *DB) KeyRoles(ctx context.Context) ([]KeyRole, error) {
	return listAll(ctx, db.pool, "key roles", `SELECT role, ref, assigned_at FROM key_roles ORDER BY role`, func(r pgx.Row) (KeyRole, error) {
		var k KeyRole
		err := r.Scan(&k.Role, &k.Ref, &k.AssignedAt)
		k.AssignedAt = k.AssignedAt.UTC()
		return k, err
	})
}

// SystemKeys returns the platform key references from key_roles (roles
// without an assignment stay empty: see issuance.SystemKeys.Missing).
func (db *DB) SystemKeys(ctx context.Context) (issuance.SystemKeys, error) {
	roles, err := db.KeyRoles(ctx)
	if err != nil {
		return issuance.SystemKeys{}, err
	}
	var k issuance.SystemKeys
	for _, r := range roles {
		k.SetRole(r.Role, r.Ref)
	}
	return k, nil
}

// AssignKeyRole binds a platform role to a key reference. With replace
// false it only binds a role that has no key yet and reports whether it
// did; with replace true it (re)binds the role. The caller checks that the
// key exists and has the role's type.
func (db *DB) AssignKeyRole(ctx context.Context, role, ref string, replace bool) (bool, error) {
	q := `INSERT INTO key_roles (role, ref, assigned_at) VALUES ($1, $2, $3) ON CONFLICT (role) DO NOTHING`
	if replace {
		q = `INSERT INTO key_roles (role, ref, assigned_at) VALUES ($1, $2, $3)
			ON CONFLICT (role) DO UPDATE SET ref = excluded.ref, assigned_at = excluded.assigned_at`
	}
	tag, err := db.pool.Exec(ctx, q, role, ref, db.Now())
	if pgCode(err) == "23514" { // check_violation: unknown role
		return false, fmt.Errorf("assigning key role %q: unknown role: %w", role, issuance.ErrNotFound)
	}
	if err != nil {
		return false, fmt.Errorf("assigning key role: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// TenantKeyRoles returns the keys seeding gave a tenant, by role.
func (db *DB) TenantKeyRoles(ctx context.Context, tenantID string) (map[string]string, error) {
	rows, err := db.pool.Query(ctx, `SELECT role, ref FROM tenant_key_roles WHERE tenant_id = $1`, tenantID)
	if err != nil {
		return nil, fmt.Errorf("listing tenant key roles: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var role, ref string
		if err := rows.Scan(&role, &ref); err != nil {
			return nil, fmt.Errorf("listing tenant key roles: %w", err)
		}
		out[role] = ref
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing tenant key roles: %w", err)
	}
	return out, nil
}

// AssignTenantKeyRole records that a tenant's role is played by ref, unless
// the role already has a key; it reports whether it recorded it.
func (db *DB) AssignTenantKeyRole(ctx context.Context, tenantID, role, ref string) (bool, error) {
	tag, err := db.pool.Exec(ctx, `INSERT INTO tenant_key_roles (tenant_id, role, ref, assigned_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (tenant_id, role) DO NOTHING`, tenantID, role, ref, db.Now())
	if fkViolation(err) {
		return false, issuance.ErrNotFound
	}
	if err != nil {
		return false, fmt.Errorf("assigning tenant key role: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// WithSeedLock runs fn while holding a cluster-wide lock (a session
// advisory lock on a dedicated connection), so that instances starting
// together seed the sandbox once. The lock is released when fn returns.
func (db *DB) WithSeedLock(ctx context.Context, fn func(ctx context.Context) error) error {
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("taking seed lock: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(`+lockKey("seed")+`)`); err != nil {
		return fmt.Errorf("taking seed lock: %w", err)
	}
	defer func() {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, err := conn.Exec(uctx, `SELECT pg_advisory_unlock(`+lockKey("seed")+`)`); err != nil {
			// Never return a connection that may still hold the lock.
			_ = conn.Hijack().Close(uctx)
		}
	}()
	return fn(ctx)
}
