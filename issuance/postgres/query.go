package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cardhost/cardhost/issuance"
)

// The query helpers every store method shares: list, page, get, read-lock-
// change-write, and one tenant-scoped table description for the resources
// that are only created, read by id and listed.

// querier is the pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// listAll runs a query and reads every row with scan.
func listAll[T any](ctx context.Context, q querier, what, query string, scan func(pgx.Row) (T, error), args ...any) ([]T, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", what, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (T, error) { return scan(r) })
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", what, err)
	}
	return out, nil
}

// ListPage runs a list query that asks for one row more than the page
// (size) and cuts the extra row into has_more. Adapters built on the DB
// (host/postgres) page with it too.
func ListPage[T any](ctx context.Context, db *DB, what, query string, size int, scan func(pgx.Row) (T, error), args ...any) ([]T, bool, error) {
	out, err := listAll(ctx, db.pool, what, query, scan, args...)
	if err != nil {
		return nil, false, err
	}
	more := len(out) > size
	if more {
		out = out[:size]
	}
	return out, more, nil
}

// getRow runs a single-row query; no row is issuance.ErrNotFound.
func getRow[T any](ctx context.Context, db *DB, what, query string, scan func(pgx.Row) (T, error), args ...any) (T, error) {
	v, err := scan(db.pool.QueryRow(ctx, query, args...))
	if errors.Is(err, pgx.ErrNoRows) {
		return v, issuance.ErrNotFound
	}
	if err != nil {
		return v, fmt.Errorf("reading %s: %w", what, err)
	}
	return v, nil
}

// updateRow reads one row of a tenant (query selects it by tenant_id $1
// and id $2) FOR UPDATE, lets fn change it and stores it with write, in one
// transaction; no row is issuance.ErrNotFound.
func updateRow[T any](ctx context.Context, db *DB, what, query string, scan func(pgx.Row) (T, error),
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

// pgCode returns the SQLSTATE of a PostgreSQL error, or "".
func pgCode(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

// fkViolation reports whether err is a foreign_key_violation.
func fkViolation(err error) bool { return pgCode(err) == "23503" }

// tenantTable describes a table of tenant-owned rows with an id: its
// columns, how a row is read, and the values it is written with (in column
// order).
type tenantTable[T any] struct {
	what, plural, table, columns string
	scan                         func(pgx.Row) (T, error)
	values                       func(T) ([]any, error)
	// fkNotFound answers issuance.ErrNotFound for a row that names a
	// missing (or another tenant's) row.
	fkNotFound bool
}

// byID selects one row of a tenant ($1) by id ($2).
func (t *tenantTable[T]) byID() string {
	return `SELECT ` + t.columns + ` FROM ` + t.table + ` WHERE tenant_id = $1 AND id = $2`
}

func (t *tenantTable[T]) insert(ctx context.Context, tx pgx.Tx, v T) error {
	vals, err := t.values(v)
	if err != nil {
		return err
	}
	marks := make([]string, len(vals))
	for i := range marks {
		marks[i] = "$" + strconv.Itoa(i+1)
	}
	_, err = tx.Exec(ctx, `INSERT INTO `+t.table+` (`+t.columns+`) VALUES (`+strings.Join(marks, ", ")+`)`, vals...)
	if t.fkNotFound && fkViolation(err) {
		return issuance.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("inserting %s: %w", t.what, err)
	}
	return nil
}

// insertAll inserts rows in order, stopping at the first error.
func (t *tenantTable[T]) insertAll(ctx context.Context, tx pgx.Tx, vs []T) error {
	for _, v := range vs {
		if err := t.insert(ctx, tx, v); err != nil {
			return err
		}
	}
	return nil
}

// create inserts one row in its own transaction.
func (t *tenantTable[T]) create(ctx context.Context, db *DB, v T) error {
	return db.inTx(ctx, func(tx pgx.Tx) error { return t.insert(ctx, tx, v) })
}

// get returns a tenant's row; issuance.ErrNotFound for a missing id or
// another tenant's.
func (t *tenantTable[T]) get(ctx context.Context, db *DB, tenantID, id string) (T, error) {
	return getRow(ctx, db, t.what, t.byID(), t.scan, tenantID, id)
}

// list returns one page of a tenant's rows, newest first, that meet the
// set conditions.
func (t *tenantTable[T]) list(ctx context.Context, db *DB, tenantID string, p issuance.PageRequest, conds ...cond) ([]T, bool, error) {
	var w where
	w.and(cond{"tenant_id = ?", tenantID, true})
	w.and(conds...)
	w.and(cond{"id < ?", p.StartingAfter, p.StartingAfter != ""})
	size := p.Size()
	return ListPage(ctx, db, t.plural, `SELECT `+t.columns+` FROM `+t.table+` WHERE `+w.sql()+` ORDER BY id DESC LIMIT `+strconv.Itoa(size+1),
		size, t.scan, w.args...)
}

// cond is one condition of a WHERE clause, with one "?" for its argument;
// a cond that is not set is left out.
type cond struct {
	sql string
	arg any
	set bool
}

// eq is "col = value", set when value is not empty.
func eq(col, value string) cond { return cond{col + " = ?", value, value != ""} }

// timeCond is sql with *t, set when t is not nil.
func timeCond(sql string, t *time.Time) cond {
	if t == nil {
		return cond{}
	}
	return cond{sql, *t, true}
}

// where builds a WHERE clause from conditions, numbering their arguments.
type where struct {
	conds []string
	args  []any
}

// and adds the set conditions.
func (w *where) and(cs ...cond) {
	for _, c := range cs {
		if c.set {
			w.args = append(w.args, c.arg)
			w.conds = append(w.conds, strings.Replace(c.sql, "?", "$"+strconv.Itoa(len(w.args)), 1))
		}
	}
}

func (w *where) sql() string { return strings.Join(w.conds, " AND ") }
