package calc

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestTLVDecodeMasksCardData(t *testing.T) {
	data := field55(t, map[string]string{"5A": "4111111111111111", "9F36": "001C", "9F10": "06011203A0B800"})
	out := mustRun(t, "tlv", "decode", "--data", data)
	js, _ := json.Marshal(out)
	if strings.Contains(string(js), "4111111111111111") || !strings.Contains(string(js), "[redacted]") {
		t.Errorf("tlv decode leaks or does not mask the PAN: %s", js)
	}
	objs, _ := out["tlv"].([]any)
	if len(objs) != 3 {
		t.Fatalf("tlv decode gave %d objects, want 3: %s", len(objs), js)
	}
	atc := objs[2].(map[string]any)
	if atc["tag"] != "9F36" || atc["name"] != "Application transaction counter" || atc["length"] != 2.0 || atc["value"] != "001C" {
		t.Errorf("tlv decode ATC = %v", atc)
	}
	out = mustRun(t, "tlv", "decode", "--data", data, "--reveal")
	js, _ = json.Marshal(out)
	if !strings.Contains(string(js), "4111111111111111") {
		t.Errorf("tlv decode --reveal: %s", js)
	}
}
