package schedule

import (
	"slices"
	"testing"
	"time"
)

// setOf lists the bits of a set.
func setOf(set uint64) []int {
	var vs []int
	for v := range 64 {
		if set&(1<<v) != 0 {
			vs = append(vs, v)
		}
	}
	return vs
}

func TestParseFields(t *testing.T) {
	tests := []struct {
		expr  string
		field string // minute hour dom month dow
		want  []int
	}{
		{"*/15 * * * *", "minute", []int{0, 15, 30, 45}},
		{"10/20 * * * *", "minute", []int{10, 30, 50}},
		{"1-5/2 * * * *", "minute", []int{1, 3, 5}},
		{"58-2 * * * *", "minute", []int{0, 1, 2, 58, 59}},
		{"0 22-2 * * *", "hour", []int{0, 1, 2, 22, 23}},
		{"0 22-2/2 * * *", "hour", []int{0, 2, 22}},
		{"0 0-23 * * *", "hour", setOf(allHours)},
		{"0 0 */10 * *", "dom", []int{1, 11, 21, 31}},
		{"0 0 25-5 * *", "dom", []int{1, 2, 3, 4, 5, 25, 26, 27, 28, 29, 30, 31}},
		{"0 0 29-L * *", "dom", []int{29, 30, 31}},
		{"0 0 1 */3 *", "month", []int{1, 4, 7, 10}},
		{"0 0 1 11-2 *", "month", []int{1, 2, 11, 12}},
		{"0 0 1 JAN-Mar *", "month", []int{1, 2, 3}},
		{"0 0 * * */2", "dow", []int{0, 2, 4, 6}},
		{"0 0 * * 1/2", "dow", []int{0, 1, 3, 5}}, // 1-7/2: Sunday as 7
		{"0 0 * * mon-fri", "dow", []int{1, 2, 3, 4, 5}},
		{"0 0 * * fri-mon", "dow", []int{0, 1, 5, 6}},
		{"0 0 * * 5-7", "dow", []int{0, 5, 6}},
		{"0 0 * * sat-sun", "dow", []int{0, 6}},
		{"0 0 * * 0,7", "dow", []int{0}},
		{"0 0 * * 0-7", "dow", []int{0, 1, 2, 3, 4, 5, 6}},
		{"0 0 * * 7-2", "dow", []int{0, 1, 2}},
		{"0 0 * * SUN,Wed", "dow", []int{0, 3}},
	}
	for _, tc := range tests {
		t.Run(tc.expr+"/"+tc.field, func(t *testing.T) {
			c, err := parseCron(tc.expr)
			if err != nil {
				t.Fatalf("parseCron(%q): %v", tc.expr, err)
			}
			set := map[string]uint64{"minute": c.minutes, "hour": c.hours, "dom": c.days, "month": c.months, "dow": c.weekdays}[tc.field]
			if got := setOf(set); !slices.Equal(got, tc.want) {
				t.Errorf("parseCron(%q) %s = %v; want %v", tc.expr, tc.field, got, tc.want)
			}
		})
	}
}

func TestParseSpecialDays(t *testing.T) {
	tests := []struct {
		expr           string
		lastDay        bool
		nth            map[int][]int // weekday → nth bits (6 = last)
		domAny, dowAny bool
	}{
		{expr: "0 0 L * *", lastDay: true, dowAny: true},
		{expr: "0 0 l,15 * *", lastDay: true, dowAny: true},
		{expr: "0 0 ? * mon", domAny: true},
		{expr: "0 0 1 * ?", dowAny: true},
		{expr: "0 0 * * 5#3", nth: map[int][]int{5: {3}}, domAny: true},
		{expr: "0 0 ? * fri#3,fri#1", nth: map[int][]int{5: {1, 3}}, domAny: true},
		{expr: "0 0 * * mon-wed#2", nth: map[int][]int{1: {2}, 2: {2}, 3: {2}}, domAny: true},
		{expr: "0 0 * * L5", nth: map[int][]int{5: {nthLast}}, domAny: true},
		{expr: "0 0 * * Lfri,L7", nth: map[int][]int{0: {nthLast}, 5: {nthLast}}, domAny: true},
		// The "*"-text rules of spec §5.
		{expr: "0 0 */1 * */2", domAny: true},
		{expr: "0 0 */1 * 1"},
		{expr: "0 0 15 * 0-6"},
		{expr: "0 0 * * 0-6", domAny: true, dowAny: true},
		{expr: "0 0 1-31 * */1", domAny: true}, // the weekday text has the "*"
		{expr: "0 0 31 2 */1"},                 // every day of February: 31st or any weekday
		{expr: "0 0 1-30,L * *", lastDay: true, domAny: true, dowAny: true},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			c, err := parseCron(tc.expr)
			if err != nil {
				t.Fatalf("parseCron(%q): %v", tc.expr, err)
			}
			if c.lastDay != tc.lastDay || c.domAny != tc.domAny || c.dowAny != tc.dowAny {
				t.Errorf("parseCron(%q): lastDay=%v domAny=%v dowAny=%v; want %v %v %v",
					tc.expr, c.lastDay, c.domAny, c.dowAny, tc.lastDay, tc.domAny, tc.dowAny)
			}
			for w := range 7 {
				if got, want := setOf(uint64(c.nth[w])), tc.nth[w]; !slices.Equal(got, want) {
					t.Errorf("parseCron(%q) nth[%d] = %v; want %v", tc.expr, w, got, want)
				}
			}
		})
	}
}

func TestParsePresets(t *testing.T) {
	tests := []struct{ expr, cron string }{
		{"@hourly", "0 * * * *"},
		{"@daily", "0 0 * * *"},
		{"@weekly", "0 0 * * 0"},
		{"@monthly", "0 0 1 * *"},
		{"@quarterly", "0 0 1 */3 *"},
		{"@yearly", "0 0 1 1 *"},
		{"@midnight", "0 0 * * *"},
		{"@Midnight", "0 0 * * *"},
		{"@ANNUALLY", "0 0 1 1 *"},
		{"  @daily\n", "0 0 * * *"},
		{"@once", ""},
		{" 0   3 *\t* * ", "0 3 * * *"},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			s := mustParse(t, tc.expr, "UTC")
			if got := s.Cron(); got != tc.cron {
				t.Errorf("Parse(%q).Cron() = %q; want %q", tc.expr, got, tc.cron)
			}
			if got, want := s.IsOnce(), tc.cron == ""; got != want {
				t.Errorf("Parse(%q).IsOnce() = %v; want %v", tc.expr, got, want)
			}
		})
	}
}

// TestParseErrors pins the user-facing messages.
func TestParseErrors(t *testing.T) {
	tests := []struct{ expr, want string }{
		// Presets.
		{"", `schedule is empty: write a preset such as @daily or a 5-field cron such as "0 3 * * *"`},
		{"  ", `schedule is empty: write a preset such as @daily or a 5-field cron such as "0 3 * * *"`},
		{"@Daily", `schedule "@Daily": presets are lowercase; write @daily`},
		{"@ONCE", `schedule "@ONCE": presets are lowercase; write @once`},
		{"@Quarterly", `schedule "@Quarterly": presets are lowercase; write @quarterly`},
		{"@reboot", `schedule "@reboot": @reboot is not supported; posml schedules by the clock only (use @once for a single run)`},
		{"@every 5m", `schedule "@every 5m": @every is not supported; write a cron, such as "*/5 * * * *" for every 5 minutes`},
		{"@continuous", `schedule "@continuous": @continuous is not supported; use a cron such as "* * * * *" or @hourly`},
		{"@fortnightly", `schedule "@fortnightly": unknown preset; use @once, @hourly, @daily, @weekly, @monthly, @quarterly or @yearly, or a 5-field cron`},
		// Field count.
		{"0 3 *", `cron "0 3 *" has 3 fields; posml needs exactly 5 (minute hour day-of-month month day-of-week), such as "0 3 * * *"`},
		{"0 0 3 * * *", `cron "0 0 3 * * *" has 6 fields; posml needs exactly 5 (minute hour day-of-month month day-of-week): cron with seconds is not supported`},
		{"0 0 3 * * * 2030", `cron "0 0 3 * * * 2030" has 7 fields; posml needs exactly 5 (minute hour day-of-month month day-of-week): seconds and years are not supported`},
		// Values.
		{"60 * * * *", `cron "60 * * * *": minute "60": 60 is out of range (the field takes 0-59)`},
		{"0 24 * * *", `cron "0 24 * * *": hour "24": 24 is out of range (the field takes 0-23)`},
		{"0 0 0 * *", `cron "0 0 0 * *": day-of-month "0": 0 is out of range (the field takes 1-31 or L)`},
		{"0 0 32 * *", `cron "0 0 32 * *": day-of-month "32": 32 is out of range (the field takes 1-31 or L)`},
		{"0 0 1 0 *", `cron "0 0 1 0 *": month "0": 0 is out of range (the field takes 1-12 or jan-dec)`},
		{"0 0 1 13 *", `cron "0 0 1 13 *": month "13": 13 is out of range (the field takes 1-12 or jan-dec)`},
		{"0 0 * * 8", `cron "0 0 * * 8": day-of-week "8": 8 is out of range (the field takes 0-7 or sun-sat)`},
		{"0 1-99 * * *", `cron "0 1-99 * * *": hour "1-99": 99 is out of range (the field takes 0-23)`},
		{"-5 * * * *", `cron "-5 * * * *": minute "-5": negative numbers are not allowed (the field takes 0-59)`},
		{"*/0 * * * *", `cron "*/0 * * * *": minute "*/0": a step of 0 is not valid (use 1 or more)`},
		{"*/x * * * *", `cron "*/x * * * *": minute "*/x": the step after / must be a whole number, as in */15`},
		{"0 0 * * fir", `cron "0 0 * * fir": day-of-week "fir": unknown name "fir" (use sun, mon, tue, wed, thu, fri or sat)`},
		{"0 0 * * monday", `cron "0 0 * * monday": day-of-week "monday": unknown name "monday" (use sun, mon, tue, wed, thu, fri or sat)`},
		{"0 0 1 janu *", `cron "0 0 1 janu *": month "janu": unknown name "janu" (use jan, feb, mar, apr, may, jun, jul, aug, sep, oct, nov or dec)`},
		{"0 0 * * jan", `cron "0 0 * * jan": day-of-week "jan": unknown name "jan" (use sun, mon, tue, wed, thu, fri or sat)`},
		{"0 mon * * *", `cron "0 mon * * *": hour "mon" is not valid (the field takes 0-23, *, ranges a-b, steps */n and lists a,b)`},
		{"1,,2 * * * *", `cron "1,,2 * * * *": the minute field "1,,2" has an empty item (remove the extra comma)`},
		{"5- * * * *", `cron "5- * * * *": minute "5-" is not valid: a range needs a value on both sides of -`},
		// Equal-end ranges.
		{"0 5-5 * * *", `cron "0 5-5 * * *": hour range "5-5" starts and ends at the same value, which croniter (and so Airflow) reads as the whole field; write a single value, or * for every hour`},
		{"0 0 * * mon-mon", `cron "0 0 * * mon-mon": day-of-week range "mon-mon" starts and ends at the same value, which croniter (and so Airflow) reads as the whole field; write a single value, or * for every day-of-week`},
		{"0 0 * * 7-0", `cron "0 0 * * 7-0": day-of-week range "7-0" starts and ends at the same value, which croniter (and so Airflow) reads as the whole field; write a single value, or * for every day-of-week`},
		// Unsupported syntax.
		{"0 0 15W * *", `cron "0 0 15W * *": day-of-month "15W": W (nearest weekday) is not supported; list the days instead`},
		{"0 0 LW * *", `cron "0 0 LW * *": day-of-month "LW": W (nearest weekday) is not supported; list the days instead`},
		{"H * * * *", `cron "H * * * *": minute "H": hashed and random values (H, R) are not supported; write a fixed value`},
		{"0 H(0-5) * * *", `cron "0 H(0-5) * * *": hour "H(0-5)": hashed and random values (H, R) are not supported; write a fixed value`},
		{"R 0 * * *", `cron "R 0 * * *": minute "R": hashed and random values (H, R) are not supported; write a fixed value`},
		{"? * * * *", `cron "? * * * *": "?" is only allowed in the day-of-month and day-of-week fields (use * in the minute field)`},
		{"0 0 ?,1 * *", `cron "0 0 ?,1 * *": "?": "?" is only allowed alone, as the whole day-of-month or day-of-week field`},
		{"0 L * * *", `cron "0 L * * *": hour "L": L is only allowed in day-of-month (last day) and day-of-week (L5 = last Friday)`},
		{"0 0 L-5 * *", `cron "0 0 L-5 * *": day-of-month "L-5": L can only stand alone or end a range, as in L or 25-L`},
		{"0 0 * * L", `cron "0 0 * * L": day-of-week "L": L needs a weekday, as in L5 or Lfri (the last Friday of the month); for the last day of the month put L in day-of-month`},
		{"0 0 * * 5L", `cron "0 0 * * 5L": day-of-week "5L" is the Quartz form; write L5 for the last such weekday of the month`},
		{"0 0 * * friL", `cron "0 0 * * friL": day-of-week "friL" is the Quartz form; write Lfri for the last such weekday of the month`},
		{"0 0 * * Lxyz", `cron "0 0 * * Lxyz": day-of-week "Lxyz": L must be followed by one weekday, as in L5 or Lfri (the last Friday of the month)`},
		{"0 0 * * 5#6", `cron "0 0 * * 5#6": day-of-week "5#6": the number after # must be 1 to 5 (5#3 = the third Friday of the month)`},
		{"0 0 * * 5#0", `cron "0 0 * * 5#0": day-of-week "5#0": the number after # must be 1 to 5 (5#3 = the third Friday of the month)`},
		{"0 0 * * *#2", `cron "0 0 * * *#2": day-of-week "*#2": # needs a weekday or a range of weekdays before it, as in fri#3 or mon-fri#1`},
		{"0 0 * * 1,5#3", `cron "0 0 * * 1,5#3": day-of-week "1,5#3" mixes plain weekdays ("1") with nth or last weekdays (# or L); croniter rejects this: use one kind only`},
		{"0 0 * * L5,sat", `cron "0 0 * * L5,sat": day-of-week "L5,sat" mixes plain weekdays ("sat") with nth or last weekdays (# or L); croniter rejects this: use one kind only`},
		{"0 0 15 * 5#3", `cron "0 0 15 * 5#3": day-of-week "5#3" (an nth or last weekday) cannot be combined with a restricted day-of-month "15"; croniter mishandles the mix (set day-of-month to *)`},
		{"0 0 */1 * L5", `cron "0 0 */1 * L5": day-of-week "L5" (an nth or last weekday) cannot be combined with a restricted day-of-month "*/1"; croniter mishandles the mix (set day-of-month to *)`},
		// Never fires.
		{"0 0 30 2 *", `cron "0 0 30 2 *" can never fire: February has no day 30 (pick a day that exists in the month)`},
		{"0 0 31 4,6 *", `cron "0 0 31 4,6 *" can never fire: April and June have no day 31 (pick a day that exists in the month)`},
		{"0 0 30,31 feb *", `cron "0 0 30,31 feb *" can never fire: February has no days 30 or 31 (pick a day that exists in the month)`},
		{"0 0 31 4,6,9,11 *", `cron "0 0 31 4,6,9,11 *" can never fire: April, June, September and November have no day 31 (pick a day that exists in the month)`},
		{"0 0 31 2 ?", `cron "0 0 31 2 ?" can never fire: February has no day 31 (pick a day that exists in the month)`},
	}
	utc := time.UTC
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			s, err := Parse(tc.expr, utc)
			if err == nil {
				t.Fatalf("Parse(%q) = %v; want error %q", tc.expr, s.Cron(), tc.want)
			}
			if got := err.Error(); got != tc.want {
				t.Errorf("Parse(%q) error:\n got %s\nwant %s", tc.expr, got, tc.want)
			}
		})
	}
}

func TestParseZone(t *testing.T) {
	if _, err := Parse("@daily", nil); err == nil {
		t.Error("Parse with a nil zone succeeded; want an error")
	}
	if _, err := Parse("@daily", time.Local); err == nil {
		t.Error("Parse with time.Local succeeded; want an error")
	}
}

func TestParseMode(t *testing.T) {
	tests := []struct {
		in   string
		want Mode
		ok   bool
	}{
		{"trigger", ModeTrigger, true},
		{"interval", ModeInterval, true},
		{" Interval ", ModeInterval, true},
		{"", 0, false},
		{"data-interval", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseMode(tc.in)
			if (err == nil) != tc.ok || got != tc.want {
				t.Errorf("ParseMode(%q) = %v, %v; want %v, ok=%v", tc.in, got, err, tc.want, tc.ok)
			}
			if err == nil && got.String() != tc.want.String() {
				t.Errorf("ParseMode(%q).String() = %q", tc.in, got.String())
			}
		})
	}
}
