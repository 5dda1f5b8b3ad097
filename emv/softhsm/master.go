package softhsm

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/cardhost/cardhost/emv"
)

// masterKey is the AES-256 key that wraps every key record, held only as an
// AEAD (the raw bytes are wiped after the cipher is expanded).
type masterKey struct {
	aead cipher.AEAD
	kcv  string
	// prk is HMAC-SHA-256(master, "cardhost derive"): the pseudo-random key
	// from which DeriveSecret expands purpose-bound secrets.
	prk []byte
}

func loadMasterKey(cfg Config) (*masterKey, error) {
	var raw []byte
	var err error
	switch {
	case cfg.MasterKeyFile != "" && cfg.MasterKeyHex != "":
		return nil, fmt.Errorf("loading master key: both a file and a value given: %w", ErrMasterKey)
	case cfg.MasterKeyFile != "":
		raw, err = readMasterKeyFile(cfg.MasterKeyFile)
	case cfg.MasterKeyHex != "":
		raw, err = decodeMasterHex(cfg.MasterKeyHex.Reveal())
	default:
		return nil, ErrNoMasterKey
	}
	if err != nil {
		return nil, fmt.Errorf("loading master key: %w", err)
	}
	defer emv.SecretBytes(raw).Wipe()
	return newMasterKey(raw)
}

func newMasterKey(raw []byte) (*masterKey, error) {
	if len(raw) != 32 {
		return nil, fmt.Errorf("loading master key: %w", ErrMasterKey)
	}
	kcv, err := emv.KCV(emv.AlgorithmAES, raw)
	if err != nil {
		return nil, fmt.Errorf("computing master key check value: %w", err)
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, fmt.Errorf("expanding master key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("expanding master key: %w", err)
	}
	mac := hmac.New(sha256.New, raw)
	mac.Write([]byte("cardhost derive"))
	return &masterKey{aead: aead, kcv: emv.EncodeHex(kcv), prk: mac.Sum(nil)}, nil
}

func readMasterKeyFile(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: file %s does not exist", ErrNoMasterKey, path)
		}
		return nil, fmt.Errorf("reading master key file: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file", ErrMasterKey, path)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s has mode %o, want 0600", ErrMasterKey, path, st.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading master key file: %w", err)
	}
	if len(b) == 32 {
		return b, nil
	}
	defer emv.SecretBytes(b).Wipe()
	return decodeMasterHex(string(b))
}

func decodeMasterHex(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if len(s) != 64 {
		return nil, fmt.Errorf("%w: want 64 hex characters or 32 bytes", ErrMasterKey)
	}
	b, err := emv.DecodeHex(s)
	if err != nil {
		return nil, fmt.Errorf("%w: not hex", ErrMasterKey)
	}
	return b, nil
}

// GenerateMasterKeyFile writes a new random AES-256 master key to path as 64
// hex characters and a newline, with mode 0600, for sandbox and development
// runs. It refuses to overwrite an existing file. rand may be nil for
// crypto/rand.Reader. It returns the new key's check value (6 hex digits)
// so the operator can record it.
func GenerateMasterKeyFile(path string, rnd io.Reader) (string, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	raw := make(emv.SecretBytes, 32)
	defer raw.Wipe()
	if _, err := io.ReadFull(rnd, raw); err != nil {
		return "", fmt.Errorf("generating master key: %w", err)
	}
	kcv, err := emv.KCV(emv.AlgorithmAES, raw)
	if err != nil {
		return "", fmt.Errorf("generating master key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("creating master key file: %w", err)
	}
	text := []byte(emv.EncodeHex(raw) + "\n")
	defer emv.SecretBytes(text).Wipe()
	if _, err := f.Write(text); err != nil {
		f.Close()
		os.Remove(path)
		return "", fmt.Errorf("writing master key file: %w", err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return "", fmt.Errorf("writing master key file: %w", err)
	}
	return emv.EncodeHex(kcv), nil
}

// MasterKeyFileKCV returns the check value of the master key in a key
// file (the file is read as New reads it, and the key wiped at once), so
// that an operator can be told which of several files fits a key store.
func MasterKeyFileKCV(path string) (string, error) {
	mk, err := loadMasterKey(Config{MasterKeyFile: path})
	if err != nil {
		return "", err
	}
	return mk.kcv, nil
}
