package softhsm

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"sync"
	"testing"

	"github.com/cardhost/cardhost/emv"
)

// TestIndexPANIsTheHMAC: a loaded PAN-IDX key's cloned HMAC gives the
// index's definition, HMAC-SHA-256(key, "cardhost:pan-index:v1" || PAN),
// computed here from crypto/hmac, for every PAN and from concurrent
// look-ups sharing the key; a key of another type has no indexer.
func TestIndexPANIsTheHMAC(t *testing.T) {
	raw := emv.SecretBytes(bytes.Repeat([]byte{0x5A, 0xC3}, 16))
	k, err := newKey(emv.KeyRecord{Ref: "idx", Version: 1, Type: emv.KeyPANIDX, Spec: emv.KeySpecHMACSHA256}, raw)
	if err != nil {
		t.Fatal(err)
	}
	if k.index == nil {
		t.Fatal("a loaded PAN-IDX key keeps no keyed HMAC")
	}
	want := func(pan string) []byte {
		m := hmac.New(sha256.New, raw)
		m.Write([]byte("cardhost:pan-index:v1" + pan))
		return m.Sum(nil)
	}
	pans := []string{"4761739001010010", "4761739001010028", "5413330089020011", "6011000990139424", "4000000000000000002"}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				for _, p := range pans {
					if got, err := indexPAN(k, emv.PAN(p)); err != nil || !bytes.Equal(got, want(p)) {
						t.Errorf("index of a %d-digit PAN differs from its HMAC (%v)", len(p), err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()

	other, err := newKey(emv.KeyRecord{Ref: "dek", Version: 1, Type: emv.KeyPANDEK, Spec: emv.KeySpecAES256}, raw)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := indexPAN(other, emv.PAN(pans[0])); !errors.Is(err, ErrKeyUsage) {
		t.Fatalf("index under a PAN-DEK key: %v, want ErrKeyUsage", err)
	}
}
