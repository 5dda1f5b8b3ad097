package calc

import (
	"strconv"
	"strings"
	"testing"
)

func TestKCVVectors(t *testing.T) {
	var vs []struct {
		Name, Source, Algorithm, Method, Key, KCV string
		Components                                []string `json:"xor_components"`
	}
	loadVectors(t, "kcv.json", &vs)
	for _, v := range vs {
		if len(v.Components) > 0 {
			continue // the CLI takes a whole key
		}
		t.Run(v.Name, func(t *testing.T) {
			out := mustRun(t, "kcv", "--key", v.Key, "--alg", v.Algorithm, "--method", v.Method, "--length", strconv.Itoa(len(v.KCV)/2))
			if str(out, "kcv") != v.KCV {
				t.Errorf("kcv = %s, want %s", str(out, "kcv"), v.KCV)
			}
		})
	}
}

func TestDeriveICCMKVectors(t *testing.T) {
	var vs []struct{ Name, Option, IMK, PAN, PSN, Key, KCV string }
	loadVectors(t, "icc_master_key.json", &vs)
	for _, v := range vs {
		t.Run(v.Name, func(t *testing.T) {
			out := mustRun(t, "derive-icc-mk", "--imk", v.IMK, "--pan", v.PAN, "--psn", v.PSN, "--option", v.Option)
			if v.Key != "" && str(out, "icc_mk") != v.Key {
				t.Errorf("icc_mk = %s, want %s", str(out, "icc_mk"), v.Key)
			}
			if v.KCV != "" && !strings.HasPrefix(str(out, "kcv"), v.KCV) {
				t.Errorf("kcv = %s, want %s...", str(out, "kcv"), v.KCV)
			}
		})
	}
}

func TestSessionKeyVectors(t *testing.T) {
	var vs []struct {
		Name, Method, R, ATC, UN, ARQC, Key, KCV string
		ICCMK                                    string `json:"icc_mk"`
		IMK, PAN, PSN                            string
	}
	loadVectors(t, "session_key.json", &vs)
	for _, v := range vs {
		t.Run(v.Name, func(t *testing.T) {
			args := []string{"session-key", "--method", v.Method}
			if v.ICCMK != "" {
				args = append(args, "--key", v.ICCMK)
			} else {
				args = append(args, "--imk", v.IMK, "--pan", v.PAN, "--psn", v.PSN, "--option", "A")
			}
			for _, f := range [][2]string{{"r", v.R}, {"atc", v.ATC}, {"un", v.UN}, {"arqc", v.ARQC}} {
				if f[1] != "" {
					args = append(args, "--"+f[0], f[1])
				}
			}
			out := mustRun(t, args...)
			if v.Key != "" && str(out, "session_key") != v.Key {
				t.Errorf("session_key = %s, want %s", str(out, "session_key"), v.Key)
			}
			if v.KCV != "" && !strings.HasPrefix(str(out, "kcv"), v.KCV) {
				t.Errorf("kcv = %s, want %s...", str(out, "kcv"), v.KCV)
			}
		})
	}
}
