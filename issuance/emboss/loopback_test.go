package emboss_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/emboss"
)

func TestLoopbackWritesOneFilePerCard(t *testing.T) {
	dir := t.TempDir()
	l := &emboss.Loopback{Dir: dir}
	job := issuance.EmbossJob{CardID: "crd_01ABC", TenantID: "ten_01XYZ", EmbosserID: "emb_1", BatchRef: "20260615"}
	rec := issuance.SealedRecord{CardID: job.CardID, TenantID: job.TenantID, KEKRef: "key_kek", KEKVersion: 2, KCV: "ABC123",
		Format: "cardhost-sealed-v1+aes-256-gcm", Data: []byte{1, 0, 0, 0, 2, 9, 9, 9}}
	e := issuance.Embosser{ID: "emb_1", Type: issuance.EmbosserLoopback}
	for range 2 { // a retried job rewrites the same file
		if err := l.Send(context.Background(), e, job, rec); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "embossing", "ten_01XYZ", "20260615", "crd_01ABC.perso")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("%d files in the batch folder (temporary files left?)", len(entries))
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", fi.Mode().Perm())
	}
	if fi, _ := os.Stat(filepath.Dir(path)); fi.Mode().Perm() != 0o700 {
		t.Fatalf("folder mode %v", fi.Mode().Perm())
	}
	var f emboss.File
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	data, _ := base64.StdEncoding.DecodeString(f.Record)
	if f.Format != emboss.FileFormat || f.CardID != "crd_01ABC" || f.EmbosserID != "emb_1" || f.KeyReference != "key_kek" ||
		f.KeyVersion != 2 || f.KCV != "ABC123" || string(data) != string(rec.Data) {
		t.Fatalf("file %+v", f)
	}
}

func TestLoopbackRefuses(t *testing.T) {
	l := &emboss.Loopback{Dir: t.TempDir()}
	ok := issuance.EmbossJob{CardID: "crd_1", TenantID: "ten_1", BatchRef: "20260615"}
	for _, tc := range []struct {
		name string
		l    *emboss.Loopback
		e    issuance.Embosser
		job  issuance.EmbossJob
		want error
	}{
		{"another embosser type", l, issuance.Embosser{Type: "BUREAU_SFTP"}, ok, emboss.ErrUnsupportedEmbosser},
		{"path traversal in the batch", l, issuance.Embosser{}, issuance.EmbossJob{CardID: "crd_1", TenantID: "ten_1", BatchRef: "../.."}, emboss.ErrPathComponent},
		{"slash in the card id", l, issuance.Embosser{}, issuance.EmbossJob{CardID: "a/b", TenantID: "ten_1", BatchRef: "x"}, emboss.ErrPathComponent},
		{"empty tenant", l, issuance.Embosser{}, issuance.EmbossJob{CardID: "crd_1", BatchRef: "x"}, emboss.ErrPathComponent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.l.Send(context.Background(), tc.e, tc.job, issuance.SealedRecord{}); !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
		})
	}
	if err := (&emboss.Loopback{}).Send(context.Background(), issuance.Embosser{}, ok, issuance.SealedRecord{}); err == nil {
		t.Fatal("no data directory: want an error")
	}
}
