package emboss

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cardhost/cardhost/issuance"
)

// ErrUnsupportedEmbosser: the embosser's type has no adapter here.
var ErrUnsupportedEmbosser = errors.New("emboss: unsupported embosser type")

// ErrPathComponent: an id that would not make a safe file name.
var ErrPathComponent = errors.New("emboss: unsafe path component")

// FileFormat is the "format" member of a loopback embossing file.
const FileFormat = "cardhost-embossing-file-v1"

// File is the content of a loopback embossing file (JSON): who the record
// is for and the sealed record itself.
type File struct {
	Format     string `json:"format"`
	CardID     string `json:"card_id"`
	TenantID   string `json:"tenant_id"`
	EmbosserID string `json:"embosser_id"`
	BatchRef   string `json:"batch_ref"`
	// KeyReference, KeyVersion and KCV name the transport key the record
	// is sealed under.
	KeyReference string `json:"key_reference"`
	KeyVersion   int    `json:"key_version"`
	KCV          string `json:"kcv"`
	// RecordFormat is the sealing format (cardhost-sealed-v1+aes-256-gcm).
	RecordFormat string `json:"record_format"`
	// Record is the sealed personalisation record, base64.
	Record string `json:"record"`
	// EmbossingCustomField is the issuer's free text for the embosser
	// (Pismo's embossing_custom_field: printable ASCII, at most 1000
	// characters; never card data), outside the sealed record.
	EmbossingCustomField string `json:"embossing_custom_field,omitempty"`
}

// Loopback is the built-in embosser: it writes each card's sealed record
// to a file under Dir and reports success at once. Safe for concurrent
// use.
type Loopback struct {
	// Dir is the data directory; files go under Dir/embossing.
	Dir string
}

// Path returns the file a card's record is written to.
func (l *Loopback) Path(job issuance.EmbossJob) (string, error) {
	for _, p := range []string{job.TenantID, job.BatchRef, job.CardID} {
		if !safeComponent(p) {
			return "", fmt.Errorf("naming embossing file: %w", ErrPathComponent)
		}
	}
	return filepath.Join(l.Dir, "embossing", job.TenantID, job.BatchRef, job.CardID+".perso"), nil
}

// Send implements issuance.EmbosserAdapter: it writes the file atomically
// (a temporary file renamed into place, mode 0600, directories 0700), so a
// reader never sees half a record and a retry replaces the file.
func (l *Loopback) Send(ctx context.Context, e issuance.Embosser, job issuance.EmbossJob, rec issuance.SealedRecord) error {
	if e.Type != "" && e.Type != issuance.EmbosserLoopback {
		return fmt.Errorf("sending to embosser %s (%s): %w", e.ID, e.Type, ErrUnsupportedEmbosser)
	}
	if l.Dir == "" {
		return errors.New("sending to loopback embosser: no data directory configured")
	}
	path, err := l.Path(job)
	if err != nil {
		return err
	}
	body, err := json.MarshalIndent(File{
		Format: FileFormat, CardID: rec.CardID, TenantID: rec.TenantID, EmbosserID: e.ID, BatchRef: job.BatchRef,
		KeyReference: rec.KEKRef, KeyVersion: rec.KEKVersion, KCV: rec.KCV, RecordFormat: rec.Format,
		Record: base64.StdEncoding.EncodeToString(rec.Data), EmbossingCustomField: rec.CustomField,
	}, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding embossing file: %w", err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating embossing directory: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("writing embossing file: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("writing embossing file: %w", err)
	}
	if _, err := tmp.Write(append(body, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("writing embossing file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("writing embossing file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing embossing file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing embossing file: %w", err)
	}
	return nil
}

// safeComponent accepts ids made of letters, digits, '_' and '-'.
func safeComponent(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
