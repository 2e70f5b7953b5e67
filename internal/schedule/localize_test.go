package schedule

import (
	"testing"
	"time"
)

func TestLocalize(t *testing.T) {
	tests := []struct {
		name, zone string
		wall       time.Time
		want       string
	}{
		{"ny-start-in-gap", newYork, time.Date(2024, 3, 10, 2, 30, 0, 0, time.UTC), "2024-03-10T03:30:00-04:00"},
		{"ny-start-in-fold", newYork, time.Date(2024, 11, 3, 1, 30, 0, 0, time.UTC), "2024-11-03T01:30:00-05:00"},
		{"ny ordinary", newYork, time.Date(2024, 7, 1, 9, 0, 0, 0, time.UTC), "2024-07-01T09:00:00-04:00"},
		{"ny the wall's own location is ignored", newYork, time.Date(2024, 7, 1, 9, 0, 0, 0, mustLoad(t, seoul)), "2024-07-01T09:00:00-04:00"},
		{"london gap", london, time.Date(2024, 3, 31, 1, 30, 0, 0, time.UTC), "2024-03-31T02:30:00+01:00"},
		{"london fold", london, time.Date(2024, 10, 27, 1, 30, 0, 0, time.UTC), "2024-10-27T01:30:00Z"},
		{"lord howe half-hour gap", lordHowe, time.Date(2024, 10, 6, 2, 15, 0, 0, time.UTC), "2024-10-06T02:45:00+11:00"},
		{"lord howe half-hour fold", lordHowe, time.Date(2024, 4, 7, 1, 45, 0, 0, time.UTC), "2024-04-07T01:45:00+10:30"},
		{"apia skipped day", "Pacific/Apia", time.Date(2011, 12, 30, 12, 0, 0, 0, time.UTC), "2011-12-31T12:00:00+14:00"},
		{"seoul midnight", seoul, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), "2024-01-01T00:00:00+09:00"},
		{"sao paulo midnight gap", "America/Sao_Paulo", time.Date(2018, 11, 4, 0, 0, 0, 0, time.UTC), "2018-11-04T01:00:00-02:00"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			loc := mustLoad(t, tc.zone)
			got := Localize(tc.wall, loc)
			if rfc(got) != tc.want {
				t.Errorf("Localize(%s, %s) = %s; want %s", tc.wall.Format("2006-01-02 15:04:05"), tc.zone, rfc(got), tc.want)
			}
			if got.Location() != loc {
				t.Errorf("Localize(...).Location() = %v; want %v", got.Location(), loc)
			}
		})
	}
}

func TestLocalizeKeepsFraction(t *testing.T) {
	wall := time.Date(2024, 1, 1, 12, 0, 5, 123456789, time.UTC)
	got := Localize(wall, mustLoad(t, seoul))
	if want := "2024-01-01T12:00:05.123456789+09:00"; got.Format(time.RFC3339Nano) != want {
		t.Errorf("Localize(%v) = %s; want %s", wall, got.Format(time.RFC3339Nano), want)
	}
}

// TestLocalizeAgreesWithDate checks that Localize equals time.Date wherever
// the wall time exists exactly once, for every hour of several years.
func TestLocalizeAgreesWithDate(t *testing.T) {
	for _, zone := range bruteZones {
		loc := mustLoad(t, zone)
		for w := time.Date(2010, 1, 1, 0, 30, 0, 0, time.UTC); w.Year() < 2013; w = w.Add(time.Hour) {
			got := Localize(w, loc)
			want := time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), 0, 0, loc)
			_, before := want.Add(-26 * time.Hour).Zone()
			_, off := want.Zone()
			_, after := want.Add(26 * time.Hour).Zone()
			if before != off || after != off {
				continue // near a transition: time.Date may pick either instant
			}
			if !got.Equal(want) {
				t.Fatalf("Localize(%s, %s) = %s; time.Date says %s", w.Format(time.DateTime), zone, rfc(got), rfc(want))
			}
		}
	}
}
