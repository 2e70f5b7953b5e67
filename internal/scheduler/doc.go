// Package scheduler fires the pipelines of posml's projects on their
// timetables. Its Scheduler.Run loop reads the pipelines that are due
// (an indexed query: a tick costs the same with ten or ten thousand
// projects), asks each one's schedule.Timetable for the run to create
// (NextRun(last, now): the catch-up rule decides what happens to fires
// missed while the server was down, paused, or before a new commit changed
// the schedule), and claims and creates that run atomically in the store,
// so that two schedulers on one database never create a run twice.
//
// It decides when, never how: created runs are queued for package runner.
// It depends on pipeline, schedule and the store methods it declares in
// Store (implemented by *sqlstore.Store); the clock is injected.
package scheduler
