package projectconfig

//go:generate go run ./internal/genzones -zip $GOROOT/lib/time/zoneinfo.zip -o zones_gen.go

import (
	"fmt"
	"strings"
	"time"
)

// zoneAbbreviations maps abbreviations people write for a zone name to the
// zone they most likely mean. Abbreviations that are zone names themselves
// (UTC, EST, CET, ...) are not listed: they load.
var zoneAbbreviations = map[string]string{
	"KST":  "Asia/Seoul",
	"JST":  "Asia/Tokyo",
	"HKT":  "Asia/Hong_Kong",
	"SGT":  "Asia/Singapore",
	"IST":  "Asia/Kolkata",
	"PST":  "America/Los_Angeles",
	"PDT":  "America/Los_Angeles",
	"MDT":  "America/Denver",
	"CDT":  "America/Chicago",
	"EDT":  "America/New_York",
	"BST":  "Europe/London",
	"CEST": "Europe/Berlin",
	"AEST": "Australia/Sydney",
	"AEDT": "Australia/Sydney",
}

// loadZone loads an IANA zone for time_zone. It rejects "Local", which
// would make the schedule depend on the server's own zone.
func loadZone(name string) (*time.Location, error) {
	if name == "Local" {
		return nil, fmt.Errorf("%q is the server's own zone, which may differ from yours", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q", name)
	}
	return loc, nil
}

// suggestZones returns the zone names closest to a name that did not load:
// the zone an abbreviation stands for, names differing only in case, zones
// whose city is name, then the names nearest by edit distance.
func suggestZones(name string) []string {
	if z, ok := zoneAbbreviations[strings.ToUpper(name)]; ok {
		return []string{z}
	}
	var exact, city []string
	for _, z := range zoneNames {
		if strings.EqualFold(z, name) {
			exact = append(exact, z)
		}
		if i := strings.LastIndexByte(z, '/'); i >= 0 && strings.EqualFold(z[i+1:], strings.ReplaceAll(name, " ", "_")) {
			city = append(city, z)
		}
	}
	if len(exact) > 0 {
		return exact
	}
	if len(city) > 0 {
		return city
	}
	return closest(name, zoneNames[:], 3)
}
