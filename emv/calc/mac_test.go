package calc

import (
	"strconv"
	"testing"
)

func TestMACVectors(t *testing.T) {
	var vs []struct {
		Name, Key, ASCII, Data, MAC string
		Alg, Padding                int
	}
	loadVectors(t, "iso9797_mac.json", &vs)
	for _, v := range vs {
		t.Run(v.Name, func(t *testing.T) {
			args := []string{"mac", "--key", v.Key, "--alg", strconv.Itoa(v.Alg), "--padding", strconv.Itoa(v.Padding), "--length", strconv.Itoa(len(v.MAC) / 2)}
			if v.Data != "" {
				args = append(args, "--data", v.Data)
			} else {
				args = append(args, "--text", v.ASCII)
			}
			out := mustRun(t, args...)
			if str(out, "mac") != v.MAC {
				t.Errorf("mac = %s, want %s", str(out, "mac"), v.MAC)
			}
		})
	}
}
