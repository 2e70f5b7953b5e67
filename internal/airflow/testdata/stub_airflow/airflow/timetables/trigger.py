"""Stand-in of airflow.timetables.trigger."""


class CronTriggerTimetable:
    def __init__(self, cron, *, timezone, interval=None):
        self.cron = cron
        self.timezone = str(timezone)
        self.interval = interval
