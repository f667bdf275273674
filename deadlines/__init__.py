"""deadlines: contract obligations -> deadline calendars, with the count behind every date."""

__version__ = "0.1.0"
