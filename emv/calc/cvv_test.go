package calc

import (
	"testing"
)

func TestCVVVectors(t *testing.T) {
	var vs []struct {
		Name, CVK, PAN, Expiry, CVV string
		ServiceCode                 string `json:"service_code"`
	}
	loadVectors(t, "cvv.json", &vs)
	for _, v := range vs {
		t.Run(v.Name, func(t *testing.T) {
			out := mustRun(t, "cvv", "--cvk-a", v.CVK[:16], "--cvk-b", v.CVK[16:], "--pan", v.PAN, "--expiry", v.Expiry, "--service-code", v.ServiceCode)
			if str(out, "cvv") != v.CVV {
				t.Errorf("cvv = %s, want %s", str(out, "cvv"), v.CVV)
			}
			out = mustRun(t, "cvv", "--cvk", v.CVK, "--pan", v.PAN, "--expiry", v.Expiry, "--service-code", v.ServiceCode, "--cvv", v.CVV)
			if out["valid"] != true {
				t.Errorf("cvv --cvv = %v", out)
			}
			if v.ServiceCode == "000" {
				out = mustRun(t, "cvv", "--cvk", v.CVK, "--pan", v.PAN, "--expiry", v.Expiry, "--type", "cvv2")
				if str(out, "cvv") != v.CVV {
					t.Errorf("cvv --type cvv2 = %s, want %s", str(out, "cvv"), v.CVV)
				}
			}
		})
	}
}
