package terminal

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// CardFile is the card file format (docs/termsim.md): one card as a JSON or
// YAML object. Unknown members are an error. Every value is clear card
// data: card files are test data and must never hold a live card.
type CardFile struct {
	// CardID is the card's id at the issuer (for REST calls and for
	// matching events), optional.
	CardID string `yaml:"card_id,omitempty" json:"card_id,omitempty"`
	// PAN, 12 to 19 digits.
	PAN string `yaml:"pan" json:"pan"`
	// Expiry, YYMM.
	Expiry string `yaml:"expiry" json:"expiry"`
	// PSN is the PAN sequence number, 2 digits (optional).
	PSN string `yaml:"psn,omitempty" json:"psn,omitempty"`
	// ServiceCode, 3 digits, default 201.
	ServiceCode string `yaml:"service_code,omitempty" json:"service_code,omitempty"`
	// Track2 is the magnetic stripe's track 2; when absent it is built
	// from pan, expiry, service_code, pvki, pvv and cvv.
	Track2 string `yaml:"track2,omitempty" json:"track2,omitempty"`
	// Track2Chip is the chip's track 2 equivalent; when absent it is
	// track2 with icvv in the CVV place.
	Track2Chip string `yaml:"track2_chip,omitempty" json:"track2_chip,omitempty"`
	// PVKI and PVV are the PIN verification data in track 2 (default 0
	// and 0000).
	PVKI string `yaml:"pvki,omitempty" json:"pvki,omitempty"`
	PVV  string `yaml:"pvv,omitempty" json:"pvv,omitempty"` // see PVKI
	// CVV (magstripe), ICVV (chip) and CVV2 (printed), 3 digits each.
	CVV  string `yaml:"cvv,omitempty" json:"cvv,omitempty"`
	ICVV string `yaml:"icvv,omitempty" json:"icvv,omitempty"` // see CVV
	CVV2 string `yaml:"cvv2,omitempty" json:"cvv2,omitempty"` // see CVV
	// PIN, 4 to 12 digits, and how the issuer verifies it (PVV or IBM3624,
	// informational).
	PIN       string `yaml:"pin,omitempty" json:"pin,omitempty"`
	PINMethod string `yaml:"pin_method,omitempty" json:"pin_method,omitempty"` // see PIN
	// Network: VISA, MASTERCARD or UNIONPAY (default from the PAN: 4 Visa;
	// 2, 5 Mastercard; 62 UnionPay).
	Network string `yaml:"network,omitempty" json:"network,omitempty"`
	// CVN is the chip's cryptogram version: Visa 10, 18, 22; Mastercard
	// 16, 17, 20, 21; UnionPay 1. Absent for a card without chip.
	CVN int `yaml:"cvn,omitempty" json:"cvn,omitempty"`
	// ICCMasterKeyAC is the chip's MK-AC in hex (32 characters).
	ICCMasterKeyAC string `yaml:"icc_master_key_ac,omitempty" json:"icc_master_key_ac,omitempty"`
	// AIP is the application interchange profile (4 hex, default 1800).
	AIP string `yaml:"aip,omitempty" json:"aip,omitempty"`
	// ATC is the last application transaction counter used; the state
	// file beside the card file (see LoadCard) overrides it when higher.
	ATC int `yaml:"atc,omitempty" json:"atc,omitempty"`
}

// Spec returns the CardSpec of the file.
func (f CardFile) Spec() CardSpec {
	return CardSpec{
		ID: f.CardID, PAN: f.PAN, Expiry: f.Expiry, PSN: f.PSN, ServiceCode: f.ServiceCode,
		Track2: f.Track2, ChipTrack2: f.Track2Chip, PVKI: f.PVKI, PVV: f.PVV,
		CVV: f.CVV, ICVV: f.ICVV, CVV2: f.CVV2, PIN: f.PIN, PINMethod: f.PINMethod,
		Network: f.Network, CVN: f.CVN, ICCMasterKeyAC: f.ICCMasterKeyAC, AIP: f.AIP, ATC: f.ATC,
	}
}

// ParseCardFile decodes a card file (JSON or YAML: JSON is read as YAML)
// strictly: an unknown member or a value of the wrong type is an error
// naming its line. The returned card has no state file.
func ParseCardFile(data []byte) (*Card, error) {
	var f CardFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: empty card file", ErrCard)
		}
		return nil, fmt.Errorf("%w: %s", ErrCard, YAMLErrorText(err))
	}
	return NewCard(f.Spec())
}

// YAMLErrorText returns a yaml.v3 error's message without the values it
// quotes (yaml.v3 quotes a mistyped scalar between backquotes, and card
// files hold card data): "line 3: cannot unmarshal !!str into int".
func YAMLErrorText(err error) string {
	return strings.ReplaceAll(yamlQuoted.ReplaceAllString(err.Error(), ""), "  ", " ")
}

var yamlQuoted = regexp.MustCompile("`[^`]*`")

// StateSuffix is appended to a card file's name to form its state file,
// which holds the last ATC used so that repeated runs never replay one.
const StateSuffix = ".state"

// cardState is the state file's content.
type cardState struct {
	ATC int `json:"atc"`
}

// LoadCard reads a card file and its state file (path + StateSuffix, when
// it exists): the card's ATC is the higher of the two. SaveState writes it
// back.
func LoadCard(path string) (*Card, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading card file: %w", err)
	}
	c, err := ParseCardFile(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	c.statePath = path + StateSuffix
	atc, err := LoadCardState(c.statePath)
	if err != nil {
		return nil, err
	}
	if atc > c.atc {
		c.atc = atc
	}
	return c, nil
}

// LoadCardState reads a state file and returns the last ATC it holds; 0
// when the file does not exist.
func LoadCardState(path string) (int, error) {
	st, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return 0, nil
	case err != nil:
		return 0, fmt.Errorf("reading card state: %w", err)
	}
	var s cardState
	if err := json.Unmarshal(st, &s); err != nil || s.ATC < 0 || s.ATC > MaxATC {
		return 0, fmt.Errorf("%s: %w: state file is not {\"atc\": 0-65535}", path, ErrCard)
	}
	return s.ATC, nil
}

// LoadCardDir loads every card file (*.json, *.yaml, *.yml) of dir, in
// name order, at most max of them (0: all).
func LoadCardDir(dir string, max int) ([]*Card, error) {
	var names []string
	for _, pat := range []string{"*.json", "*.yaml", "*.yml"} {
		m, err := filepath.Glob(filepath.Join(dir, pat))
		if err != nil {
			return nil, fmt.Errorf("listing card files: %w", err)
		}
		names = append(names, m...)
	}
	slices.Sort(names)
	if max > 0 && len(names) > max {
		names = names[:max]
	}
	cards := make([]*Card, 0, len(names))
	for _, n := range names {
		c, err := LoadCard(n)
		if err != nil {
			return nil, err
		}
		cards = append(cards, c)
	}
	return cards, nil
}

// SetStatePath sets where SaveState writes the card's ATC ("" for
// nowhere).
func (c *Card) SetStatePath(path string) {
	c.mu.Lock()
	c.statePath = path
	c.mu.Unlock()
}

// SaveState writes the card's last ATC to its state file (atomically: a
// temporary file renamed over it). A card without state file does nothing.
func (c *Card) SaveState() error {
	c.mu.Lock()
	path, atc := c.statePath, c.atc
	c.mu.Unlock()
	if path == "" {
		return nil
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(`{"atc": `+strconv.Itoa(atc)+"}\n"), 0o600); err != nil {
		return fmt.Errorf("writing card state: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("writing card state: %w", err)
	}
	return nil
}
