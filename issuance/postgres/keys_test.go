package postgres_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/emv/softhsm"
	"github.com/cardhost/cardhost/issuance/postgres"
	"github.com/cardhost/cardhost/issuance/postgres/pgtest"
)

// newHSM opens a fresh database and a software HSM (cfg with a new master
// key file) over its key store. It returns the master key file too, for a
// second HSM over the same keys.
func newHSM(t *testing.T, cfg softhsm.Config) (*postgres.DB, *softhsm.HSM, string) {
	t.Helper()
	db := pgtest.New(t, postgres.Config{})
	cfg.MasterKeyFile = filepath.Join(t.TempDir(), "master.key")
	if _, err := softhsm.GenerateMasterKeyFile(cfg.MasterKeyFile, nil); err != nil {
		t.Fatal(err)
	}
	h, err := softhsm.New(cfg, db.KeyStore())
	if err != nil {
		t.Fatal(err)
	}
	return db, h, cfg.MasterKeyFile
}

// The HSM over the PostgreSQL key store: keys survive a new HSM instance,
// and what the table holds is not the key.
func TestKeyStoreWithHSM(t *testing.T) {
	db, h, mk := newHSM(t, softhsm.Config{})
	ctx := context.Background()
	clear, _ := emv.DecodeHex("0123456789ABCDEFFEDCBA9876543210")
	zero := make([]byte, 16)
	info, err := h.ImportComponents(ctx, softhsm.ImportRequest{KeyRequest: softhsm.KeyRequest{Type: emv.KeyZPK, Spec: emv.KeySpecTDES2},
		Components: []emv.SecretBytes{append([]byte(nil), clear...), zero}, KCV: "08D7B4"})
	if err != nil {
		t.Fatalf("ImportComponents: %v", err)
	}
	recs, err := db.KeyStore().ListKeys(ctx, emv.KeyFilter{Type: emv.KeyZPK})
	if err != nil || len(recs) != 1 || recs[0].KCV != "08D7B4" {
		t.Fatalf("ListKeys = %+v, %v", recs, err)
	}
	if bytes.Contains(recs[0].Wrapped, clear) {
		t.Fatal("the stored key block holds the clear key")
	}
	if err := db.KeyStore().PutKey(ctx, recs[0]); !errors.Is(err, emv.ErrKeyExists) {
		t.Fatalf("duplicate PutKey: %v, want ErrKeyExists", err)
	}
	h2, err := softhsm.New(softhsm.Config{MasterKeyFile: mk}, db.KeyStore())
	if err != nil {
		t.Fatal(err)
	}
	got, err := h2.KeyInfo(ctx, info.Ref, 0)
	if err != nil || got.KCV != "08D7B4" {
		t.Fatalf("KeyInfo from a new HSM = %+v, %v", got, err)
	}
	if _, err := db.KeyStore().GetKey(ctx, "key_missing", 1); !errors.Is(err, emv.ErrKeyNotFound) {
		t.Fatalf("GetKey missing: %v", err)
	}
}

// Keys read back from PostgreSQL unwrap: the record's authenticated header
// (with its dates) survives the round trip.
func TestKeysUnwrapAfterPostgresRoundTrip(t *testing.T) {
	_, h, _ := newHSM(t, softhsm.Config{CacheTTL: -1})
	ctx := context.Background()
	for _, typ := range []emv.KeyType{emv.KeyPANDEK, emv.KeyPANIDX} {
		if _, err := h.GenerateKey(ctx, softhsm.KeyRequest{Type: typ, Expires: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	keys, err := h.ListKeys(ctx, emv.KeyFilter{Type: emv.KeyPANIDX})
	if err != nil || len(keys) != 1 {
		t.Fatalf("ListKeys: %v %v", keys, err)
	}
	if _, err := h.IndexPAN(ctx, keys[0].Ref, emv.PAN("4000001234567899")); err != nil {
		t.Fatalf("using a key read back from PostgreSQL: %v", err)
	}
}
