package schedule_test

import (
	"fmt"
	"time"

	"github.com/posml/posml/internal/schedule"
)

func ExampleSchedule_Next() {
	loc, _ := time.LoadLocation("America/New_York")
	s, err := schedule.Parse("30 2 * * *", loc)
	if err != nil {
		fmt.Println(err)
		return
	}
	t := time.Date(2024, 3, 9, 12, 0, 0, 0, loc)
	for range 3 {
		t = s.Next(t)
		fmt.Println(t.Format(time.RFC3339)) // 02:30 does not exist on March 10
	}
	// Output:
	// 2024-03-10T03:30:00-04:00
	// 2024-03-11T02:30:00-04:00
	// 2024-03-12T02:30:00-04:00
}

func ExampleParse_error() {
	_, err := schedule.Parse("0 0 30 2 *", time.UTC)
	fmt.Println(err)
	// Output:
	// cron "0 0 30 2 *" can never fire: February has no day 30 (pick a day that exists in the month)
}

func ExampleTimetable_NextRun() {
	loc, _ := time.LoadLocation("Asia/Seoul")
	s, _ := schedule.Parse("@daily", loc)
	tt := schedule.Timetable{
		Schedule: s,
		Start:    schedule.Localize(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), loc),
		Mode:     schedule.ModeInterval, // Airflow 2: run at the end of the data interval
		Catchup:  true,
	}
	r, _ := tt.NextRun(nil, time.Date(2024, 1, 1, 0, 0, 0, 0, loc))
	fmt.Println("fires at:    ", r.FireAt.Format(time.RFC3339))
	fmt.Println("logical date:", r.LogicalDate.UTC().Format(time.RFC3339))
	// Output:
	// fires at:     2024-01-02T00:00:00+09:00
	// logical date: 2023-12-31T15:00:00Z
}
