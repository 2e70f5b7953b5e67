"""Stand-in of airflow.timetables.interval."""


class CronDataIntervalTimetable:
    def __init__(self, cron, timezone):
        self.cron = cron
        self.timezone = str(timezone)
