package softhsm

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/cardhost/cardhost/emv"
)

// MasterKCVCounter is implemented by key stores that can count their
// records per master key check value without reading them (the PostgreSQL
// store does it with one GROUP BY). StoredMasterKCVs falls back to
// ListKeys for stores without it.
type MasterKCVCounter interface {
	MasterKCVs(ctx context.Context) (map[string]int, error)
}

// StoredMasterKCVs returns, for each master key check value under which
// the store holds key records, how many records it holds. An empty map
// means an empty store: any master key fits it. It needs no master key, so
// that a caller can check a store before it generates one.
func StoredMasterKCVs(ctx context.Context, store KeyStore) (map[string]int, error) {
	if c, ok := store.(MasterKCVCounter); ok {
		return c.MasterKCVs(ctx)
	}
	recs, err := store.ListKeys(ctx, emv.KeyFilter{})
	if err != nil {
		return nil, fmt.Errorf("listing stored keys: %w", err)
	}
	out := map[string]int{}
	for _, r := range recs {
		out[r.MasterKCV]++
	}
	return out, nil
}

// MasterKeyMismatch reports key records wrapped under master keys other
// than the HSM's. It wraps ErrWrongMasterKey and holds check values only.
type MasterKeyMismatch struct {
	// Have is the check value of the HSM's master key.
	Have string
	// Stored counts the store's records per master key check value,
	// including Have's when some records are wrapped under it.
	Stored map[string]int
}

// Error implements error: it names every check value and what to do.
func (e *MasterKeyMismatch) Error() string {
	var parts []string
	for _, kcv := range slices.Sorted(maps.Keys(e.Stored)) {
		if kcv != e.Have {
			parts = append(parts, fmt.Sprintf("%d under master key KCV %s", e.Stored[kcv], kcv))
		}
	}
	return fmt.Sprintf("the key store holds keys wrapped under another master key (%s; this master key has KCV %s, holding %d): "+
		"point the configuration at the master key with the stored check value", strings.Join(parts, ", "), e.Have, e.Stored[e.Have])
}

// Unwrap returns ErrWrongMasterKey.
func (e *MasterKeyMismatch) Unwrap() error { return ErrWrongMasterKey }

// Others returns the check values of the master keys, other than the
// HSM's, that stored records are wrapped under, sorted.
func (e *MasterKeyMismatch) Others() []string {
	var out []string
	for _, kcv := range slices.Sorted(maps.Keys(e.Stored)) {
		if kcv != e.Have {
			out = append(out, kcv)
		}
	}
	return out
}

// CheckMasterKey fails with a *MasterKeyMismatch when the key store holds
// any record wrapped under another master key: such keys cannot be
// opened, so every operation that needs one would fail. An empty store
// passes. Run it at start and in readiness checks.
func (h *HSM) CheckMasterKey(ctx context.Context) error {
	stored, err := StoredMasterKCVs(ctx, h.store)
	if err != nil {
		return err
	}
	for kcv := range stored {
		if kcv != h.master.kcv {
			return &MasterKeyMismatch{Have: h.master.kcv, Stored: stored}
		}
	}
	return nil
}
