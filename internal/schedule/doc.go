// Package schedule turns a schedule expression (a preset such as @daily, or a
// 5-field cron) plus a time zone and a start date into the exact fire times
// Airflow would produce, in both of Airflow's run models (trigger and data
// interval), with and without catch-up, across DST changes. See
// ../shared/specs/airflow-schedule.md for the rules it implements.
//
// It is pure: no I/O, no clock of its own (callers pass now). It imports only
// the standard library.
package schedule
