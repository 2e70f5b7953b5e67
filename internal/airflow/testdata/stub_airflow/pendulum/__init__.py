"""Stand-in of pendulum.datetime for hosts without pendulum."""
import datetime as _dt
import zoneinfo


def datetime(year, month, day, hour=0, minute=0, second=0, microsecond=0, tz="UTC"):
    return _dt.datetime(year, month, day, hour, minute, second, microsecond, tzinfo=zoneinfo.ZoneInfo(tz))
