"""What the aggregate feeds hold and how big any feed may grow: the defaults that FeedOptions,
the Python API and the command line share.

The aggregates (all, ours, theirs, an agreement's part, an owner's feed) hold what someone must
act on: obligations and rights due from two weeks back (what was missed lately) to a month ahead
(each monthly duty once, before it falls due; a longer horizon mostly repeats them). On
`bench/build.py`'s portfolio (about 48 deadlines per contract, 2.8 of them in the aggregates'
window, 1.8 kB each) `all.ics` reaches Google Calendar's ~1 MB at about 200 contracts: past
that it is capped and also written split by agreement (the README, "Feeds people can subscribe
to", has the sizes measured).
"""

from __future__ import annotations

AGGREGATE_PAST_DAYS = 14
AGGREGATE_DAYS_AHEAD = 30
# Google Calendar stops reading a subscribed feed at about 1 MB: with no cap, the build warns
# of every feed larger than this.
GOOGLE_FEED_LIMIT = 1_000_000
# A feed larger than this leaves out the deadlines due latest, and says so (0: no cap).
MAX_FEED_BYTES = GOOGLE_FEED_LIMIT
