package projectconfig

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestZoneNamesLoad checks the generated list against the tz database Go
// embeds: every listed name loads.
func TestZoneNamesLoad(t *testing.T) {
	if len(zoneNames) < 400 {
		t.Fatalf("only %d zone names; regenerate zones_gen.go", len(zoneNames))
	}
	if !slices.IsSorted(zoneNames[:]) {
		t.Error("zoneNames is not sorted")
	}
	for _, z := range zoneNames {
		if _, err := loadZone(z); err != nil {
			t.Errorf("listed zone %q does not load: %v", z, err)
		}
	}
}

func TestSuggestZones(t *testing.T) {
	tests := []struct {
		name string
		want []string
	}{
		{"Asia/Seol", []string{"Asia/Seoul"}},
		{"Asia/seoul", []string{"Asia/Seoul"}},
		{"Seoul", []string{"Asia/Seoul"}},
		{"new york", []string{"America/New_York"}},
		{"Europe/Berln", []string{"Europe/Berlin"}},
		{"America/Los_Angles", []string{"America/Los_Angeles"}},
		{"kst", []string{"Asia/Seoul"}},
		{"PST", []string{"America/Los_Angeles"}},
		{"Nowhere/At_All", nil},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, suggestZones(tt.name)); diff != "" {
			t.Errorf("suggestZones(%q) (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestLoadZone(t *testing.T) {
	for _, ok := range []string{"UTC", "Asia/Seoul", "America/Argentina/Buenos_Aires", "Etc/GMT+9", "ROK"} {
		if _, err := loadZone(ok); err != nil {
			t.Errorf("loadZone(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"Local", "asia/seoul", "../etc/passwd", "/usr/share/zoneinfo/UTC", "Asia/Seoul "} {
		if _, err := loadZone(bad); err == nil {
			t.Errorf("loadZone(%q) succeeded; want an error", bad)
		}
	}
}
