package startup

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/emv/softhsm"
)

// HSMConfig is what OpenHSM needs of the configuration.
type HSMConfig struct {
	// Sandbox allows generating a master key file when none exists and
	// the key store is empty.
	Sandbox bool
	// MasterKeyHex, when set, is the master key (it overrides the file).
	MasterKeyHex string
	// MasterKeyFile is the key file (sandbox default <data dir>/master.key).
	MasterKeyFile string
	// CacheTTL is softhsm.Config.CacheTTL.
	CacheTTL time.Duration
	// LegacyDirs are folders where earlier versions kept the key file by
	// default (relative to the working directory); a mismatch message
	// names the one whose key fits the database.
	LegacyDirs []string
}

// OpenHSM opens the software HSM over store with the configured master
// key. In sandbox mode a missing key file is generated (0600), but only
// when store holds no key: keys wrapped under another master key could
// never be opened again, so a second master key is never made for them.
// When store holds keys under another master key than the one configured,
// it fails with a *Problem that lists the check values and how to point
// at the right key, and nothing is started.
func OpenHSM(ctx context.Context, cfg HSMConfig, store softhsm.KeyStore, log *slog.Logger) (*softhsm.HSM, error) {
	hc := softhsm.Config{CacheTTL: cfg.CacheTTL}
	source := "CARDHOST_MASTER_KEY"
	if cfg.MasterKeyHex != "" {
		hc.MasterKeyHex = emv.Sensitive(cfg.MasterKeyHex)
	} else {
		hc.MasterKeyFile, source = cfg.MasterKeyFile, cfg.MasterKeyFile
		_, err := os.Stat(cfg.MasterKeyFile)
		if cfg.Sandbox && errors.Is(err, fs.ErrNotExist) {
			if err := generate(ctx, cfg, store, log); err != nil {
				return nil, err
			}
		}
	}
	h, err := softhsm.New(hc, store)
	switch {
	case errors.Is(err, softhsm.ErrNoMasterKey):
		return nil, &Problem{What: "no HSM master key (" + source + ")",
			Fix: "set " + MasterKeyFileSetting.String() + " to the key file or " + MasterKeySetting.String() + " to its 64 hex digits", Err: err}
	case errors.Is(err, softhsm.ErrMasterKey):
		return nil, &Problem{What: "the HSM master key (" + source + ") is unusable",
			Fix: "give a file of mode 0600 holding 64 hex digits (or 32 bytes), or set " + MasterKeySetting.String(), Err: err}
	case err != nil:
		return nil, err
	}
	if err := h.CheckMasterKey(ctx); err != nil {
		var mm *softhsm.MasterKeyMismatch
		if !errors.As(err, &mm) {
			return nil, fmt.Errorf("checking the master key against the key store: %w", err)
		}
		return nil, &Problem{
			What: fmt.Sprintf("the database holds %s, but this master key (%s) has KCV %s",
				describe(mm.Stored, mm.Have), source, mm.Have),
			Fix: pointAt(mm.Others(), cfg),
		}
	}
	return h, nil
}

// generate writes a new master key file, unless the store holds keys.
func generate(ctx context.Context, cfg HSMConfig, store softhsm.KeyStore, log *slog.Logger) error {
	stored, err := softhsm.StoredMasterKCVs(ctx, store)
	if err != nil {
		return fmt.Errorf("reading the key store before creating a master key: %w", err)
	}
	if len(stored) > 0 {
		kcvs := slices.Sorted(maps.Keys(stored))
		return &Problem{
			What: fmt.Sprintf("no master key file at %s, but the database holds %s; a new master key could not open them, so none is generated",
				cfg.MasterKeyFile, describe(stored, "")),
			Fix: pointAt(kcvs, cfg),
		}
	}
	if err := os.MkdirAll(filepath.Dir(cfg.MasterKeyFile), 0o700); err != nil {
		return &Problem{What: "cannot create the data folder " + filepath.Dir(cfg.MasterKeyFile), Fix: "set " + DataDirSetting.String() + " to a writable folder", Err: err}
	}
	kcv, err := softhsm.GenerateMasterKeyFile(cfg.MasterKeyFile, nil)
	if err != nil {
		return err
	}
	log.Warn("sandbox: generated a new HSM master key file; keep it with the database", "path", cfg.MasterKeyFile, "kcv", kcv)
	return nil
}

// describe says how many keys are stored under which master keys other
// than have: "12 keys wrapped under master key KCV 1A2B3C".
func describe(stored map[string]int, have string) string {
	var parts []string
	for _, kcv := range slices.Sorted(maps.Keys(stored)) {
		if kcv != have {
			parts = append(parts, fmt.Sprintf("%d keys wrapped under master key KCV %s", stored[kcv], kcv))
		}
	}
	return strings.Join(parts, " and ")
}

// pointAt says how to point cardhost at a master key with one of kcvs,
// naming a legacy key file that holds one when there is.
func pointAt(kcvs []string, cfg HSMConfig) string {
	fix := fmt.Sprintf("set %s to the key file with KCV %s (or %s to the folder holding it as master.key), or %s to that key",
		MasterKeyFileSetting, strings.Join(kcvs, " or "), DataDirSetting, MasterKeySetting)
	for _, dir := range cfg.LegacyDirs {
		path, err := filepath.Abs(filepath.Join(dir, "master.key"))
		if err != nil || path == cfg.MasterKeyFile {
			continue
		}
		kcv, err := softhsm.MasterKeyFileKCV(path)
		if err != nil {
			continue
		}
		for _, want := range kcvs {
			if kcv == want {
				return fmt.Sprintf("%s holds the key with KCV %s: set %s=%s", path, kcv, DataDirSetting.Env, filepath.Dir(path))
			}
		}
	}
	return fix
}
