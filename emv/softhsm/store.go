package softhsm

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/cardhost/cardhost/emv"
)

// KeyStore persists key records. Records hold only wrapped key material, so
// a KeyStore never sees a clear key. issuance/postgres implements it over
// PostgreSQL; MemStore implements it in memory. Implementations must be
// safe for concurrent use.
type KeyStore interface {
	// PutKey stores a new record. It fails with emv.ErrKeyExists when the
	// (Ref, Version) pair is taken.
	PutKey(ctx context.Context, rec emv.KeyRecord) error
	// GetKey returns one version of a key (version >= 1). It fails with
	// emv.ErrKeyNotFound when there is none.
	GetKey(ctx context.Context, ref string, version int) (emv.KeyRecord, error)
	// ListKeys returns the records that match f, ordered by Ref, then
	// Version ascending.
	ListKeys(ctx context.Context, f emv.KeyFilter) ([]emv.KeyRecord, error)
	// UpdateKeyStatus sets a version's Status and UsableUntil. It fails with
	// emv.ErrKeyNotFound when there is no such version.
	UpdateKeyStatus(ctx context.Context, ref string, version int, status emv.KeyStatus, usableUntil time.Time) error
}

// MemStore is an in-memory KeyStore for tests and single-process sandbox
// runs. The zero value is ready to use; it is safe for concurrent use.
type MemStore struct {
	mu   sync.RWMutex
	recs map[memKey]emv.KeyRecord
}

type memKey struct {
	ref     string
	version int
}

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore { return &MemStore{} }

func cloneRecord(r emv.KeyRecord) emv.KeyRecord {
	r.Wrapped = append([]byte(nil), r.Wrapped...)
	return r
}

// PutKey implements KeyStore.
func (m *MemStore) PutKey(_ context.Context, rec emv.KeyRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.recs == nil {
		m.recs = make(map[memKey]emv.KeyRecord)
	}
	k := memKey{rec.Ref, rec.Version}
	if _, ok := m.recs[k]; ok {
		return fmt.Errorf("storing key %s v%d: %w", rec.Ref, rec.Version, emv.ErrKeyExists)
	}
	m.recs[k] = cloneRecord(rec)
	return nil
}

// GetKey implements KeyStore.
func (m *MemStore) GetKey(_ context.Context, ref string, version int) (emv.KeyRecord, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	r, ok := m.recs[memKey{ref, version}]
	if !ok {
		return emv.KeyRecord{}, fmt.Errorf("getting key %s v%d: %w", ref, version, emv.ErrKeyNotFound)
	}
	return cloneRecord(r), nil
}

// ListKeys implements KeyStore.
func (m *MemStore) ListKeys(_ context.Context, f emv.KeyFilter) ([]emv.KeyRecord, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var out []emv.KeyRecord
	for _, r := range m.recs {
		if f.Match(r) {
			out = append(out, cloneRecord(r))
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Ref != out[j].Ref {
			return out[i].Ref < out[j].Ref
		}
		return out[i].Version < out[j].Version
	})
	return out, nil
}

// UpdateKeyStatus implements KeyStore.
func (m *MemStore) UpdateKeyStatus(_ context.Context, ref string, version int, status emv.KeyStatus, usableUntil time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := memKey{ref, version}
	r, ok := m.recs[k]
	if !ok {
		return fmt.Errorf("updating key %s v%d: %w", ref, version, emv.ErrKeyNotFound)
	}
	r.Status = status
	r.UsableUntil = usableUntil
	m.recs[k] = r
	return nil
}

// Tamper lets tests change a stored record in place (to check that the HSM
// detects it). It reports whether the record existed.
func (m *MemStore) Tamper(ref string, version int, fn func(*emv.KeyRecord)) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := memKey{ref, version}
	r, ok := m.recs[k]
	if !ok {
		return false
	}
	fn(&r)
	m.recs[k] = r
	return true
}
