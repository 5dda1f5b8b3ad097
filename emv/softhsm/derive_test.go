package softhsm

import (
	"bytes"
	"path/filepath"
	"testing"
)

func TestDeriveSecretIsStablePerMasterKeyAndPurpose(t *testing.T) {
	dir := t.TempDir()
	f1, f2 := filepath.Join(dir, "a.key"), filepath.Join(dir, "b.key")
	for _, f := range []string{f1, f2} {
		if _, err := GenerateMasterKeyFile(f, nil); err != nil {
			t.Fatal(err)
		}
	}
	open := func(f string) *HSM {
		h, err := New(Config{MasterKeyFile: f}, NewMemStore())
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	a1, _ := open(f1).DeriveSecret("iso-fingerprint")
	a2, _ := open(f1).DeriveSecret("iso-fingerprint")
	b, _ := open(f2).DeriveSecret("iso-fingerprint")
	other, _ := open(f1).DeriveSecret("other")
	if len(a1) != 32 || !bytes.Equal(a1, a2) {
		t.Fatal("same master key and purpose must derive the same secret")
	}
	if bytes.Equal(a1, b) || bytes.Equal(a1, other) {
		t.Fatal("another master key or purpose must derive another secret")
	}
	if _, err := open(f1).DeriveSecret(""); err == nil {
		t.Fatal("empty purpose accepted")
	}
}
