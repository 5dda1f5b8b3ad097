package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cardhost/cardhost/host"
	"github.com/cardhost/cardhost/issuance"
)

// Tenant-wide reads of the records for the operator console. They add no
// index to the authorization path (every index is one more write per
// authorization): record ids start with their creation time in
// milliseconds (issuance.NewID), so "the records since t" is a range of
// the primary key, filtered by tenant.

// idFloor is the smallest id with the prefix that issuance.NewID could
// give at t or later: its first 10 base32 characters encode the time.
func idFloor(prefix string, t time.Time) string {
	id := issuance.NewID(prefix, t)
	head := len(prefix) + 1 + 10
	return id[:head] + strings.Repeat("0", len(id)-head)
}

// decided selects the requests the host decides (0100, 0200), not the
// advices, captures and reversals that follow them.
const decided = `kind IN ('authorization', 'financial')`

// Activity summarises the tenant's decisions since since, by minute.
func (l *Ledger) Activity(ctx context.Context, tenantID string, since time.Time) (host.Activity, error) {
	out := host.Activity{Since: since}
	floor := idFloor(issuance.AuthorizationIDPrefix, since)
	rows, err := l.pool.Query(ctx, `SELECT date_trunc('minute', received_at) AS m, count(*),
			count(*) FILTER (WHERE response_code IN ('00', '10')),
			coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM decided_at - received_at)), 0),
			coalesce(percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM decided_at - received_at)), 0)
		FROM authorizations WHERE id >= $2 AND tenant_id = $1 AND received_at >= $3 AND `+decided+`
		GROUP BY m ORDER BY m`, tenantID, floor, since)
	if err != nil {
		return out, fmt.Errorf("reading activity: %w", err)
	}
	out.Minutes, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (host.ActivityMinute, error) {
		var m host.ActivityMinute
		var p50, p95 float64
		err := r.Scan(&m.Minute, &m.Requests, &m.Approved, &p50, &p95)
		m.Minute = m.Minute.UTC()
		m.P50, m.P95 = time.Duration(p50*float64(time.Second)), time.Duration(p95*float64(time.Second))
		return m, err
	})
	if err != nil {
		return out, fmt.Errorf("reading activity: %w", err)
	}
	rows, err = l.pool.Query(ctx, `SELECT reason, count(*) AS n FROM authorizations
		WHERE id >= $2 AND tenant_id = $1 AND received_at >= $3 AND `+decided+` AND response_code NOT IN ('00', '10')
		GROUP BY reason ORDER BY n DESC, reason LIMIT 10`, tenantID, floor, since)
	if err != nil {
		return out, fmt.Errorf("reading decline reasons: %w", err)
	}
	out.Declines, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (host.ReasonCount, error) {
		var c host.ReasonCount
		err := r.Scan(&c.Reason, &c.Count)
		return c, err
	})
	if err != nil {
		return out, fmt.Errorf("reading decline reasons: %w", err)
	}
	return out, nil
}

// Feed returns the tenant's records created at or after since whose id is
// above after (when set), oldest first, at most limit, each with its
// card's masked number.
func (l *Ledger) Feed(ctx context.Context, tenantID string, since time.Time, after string, limit int) ([]host.FeedEntry, error) {
	floor := idFloor(issuance.AuthorizationIDPrefix, since)
	if after >= floor {
		floor = after + "0" // strictly above after: ids have one length
	}
	return l.feed(ctx, "", tenantID, floor, limit)
}

// LatestFeed returns the tenant's newest records created at or after
// since, newest first, at most limit, each with its card's masked number.
func (l *Ledger) LatestFeed(ctx context.Context, tenantID string, since time.Time, limit int) ([]host.FeedEntry, error) {
	return l.feed(ctx, " DESC", tenantID, idFloor(issuance.AuthorizationIDPrefix, since), limit)
}

// feed reads at most $3 records of tenant $1 from id $2 on, with their
// cards' numbers, in id order (dir "" or " DESC").
func (l *Ledger) feed(ctx context.Context, dir string, args ...any) ([]host.FeedEntry, error) {
	rows, err := l.pool.Query(ctx, `SELECT `+authColumns+`, bin, last4, pan_length FROM (
		SELECT a.*, c.bin, c.last4, c.pan_length FROM authorizations a JOIN cards c ON c.id = a.card_id
		WHERE a.tenant_id = $1 AND a.id >= $2 ORDER BY a.id`+dir+` LIMIT $3) f ORDER BY id`+dir, args...)
	if err != nil {
		return nil, fmt.Errorf("reading the feed: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (host.FeedEntry, error) {
		var c issuance.Card
		a, err := scanAuthorization(extraScan{r, []any{&c.BIN, &c.Last4, &c.PANLength}})
		if err != nil {
			return host.FeedEntry{}, err
		}
		return host.FeedEntry{Authorization: a, MaskedPAN: c.MaskedPAN()}, nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the feed: %w", err)
	}
	return out, nil
}

// extraScan scans a row's leading columns into scanAuthorization's
// destinations and the rest into extra.
type extraScan struct {
	row   pgx.Row
	extra []any
}

func (e extraScan) Scan(dest ...any) error { return e.row.Scan(append(dest, e.extra...)...) }
