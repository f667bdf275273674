"""The subscribe page of a feed (`GET /<token>/`): its name, the subscribe links, and a table
of the deadlines in the feed's window, from the rows the build store keeps. It loads nothing
from outside (no script, no font, no image but data: URLs).
"""

from __future__ import annotations

import html
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from .feeds import FeedOptions
from .labels import LABELS
from .store import micros

# rows a page shows at most: an aggregate of 10,000 contracts has tens of thousands of rows in
# its window, megabytes of HTML that no one reads; the soonest due are shown, and a line says
# how many more the feed holds
MAX_ROWS = 1000

PAGE_CSS = """
body{font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;
color:#1d2430;background:#f6f7f9}
main{max-width:60rem;margin:0 auto;padding:1rem}
h1{font-size:1.4rem;margin:.5rem 0 1rem}
.links{display:flex;flex-wrap:wrap;gap:.5rem;margin-bottom:1.25rem}
.links a{display:inline-block;padding:.6rem 1rem;border-radius:.4rem;background:#1f5fbf;
color:#fff;text-decoration:none;font-weight:600}
.links a.secondary{background:#e3e8f0;color:#1d2430}
table{width:100%;border-collapse:collapse;background:#fff;border-radius:.4rem;overflow:hidden}
th,td{text-align:left;padding:.5rem .6rem;border-bottom:1px solid #e3e8f0;vertical-align:top}
th{background:#eef1f6;font-size:.85rem;text-transform:uppercase;letter-spacing:.03em}
tr.missed td{background:#fde8e8}
tr.missed .status{color:#a30d0d;font-weight:700}
tr.late .status{color:#8a5300;font-weight:600}
tr.met .status,tr.withdrawn .status,tr.closed .status{color:#4b5563}
td.due{white-space:nowrap}
.note{color:#4b5563;font-size:.9rem;margin-top:1rem}
@media (max-width:40rem){thead{display:none}table,tr,td{display:block;width:auto}
tr{border-bottom:2px solid #cfd6e1;padding:.4rem 0}td{border:0;padding:.15rem .6rem}
td::before{content:attr(data-label) ": ";font-weight:600;color:#4b5563}}
"""

# The page's fixed words, per --lang, from the one table of labels (keys `page.*`); the feed's
# own texts come translated from the build.
PAGE_TEXT: dict[str, dict[str, str]] = {
    lang: {key.removeprefix("page."): word for key, word in words.items()
           if key.startswith("page.")}
    for lang, words in LABELS.items()
}

STATUS_WORDS = {key.removeprefix("status."): word for key, word in PAGE_TEXT["en"].items()
                if key.startswith("status.")}


def window_start(as_of: datetime, past_days: int) -> int:
    """The first moment (micros) of a page's rows: the feed's own window."""
    return micros(as_of - timedelta(days=past_days))


def render_page(name: str, items: list[dict[str, Any]], feed_url: str, as_of: datetime,
                options: FeedOptions | None = None, past_days: int | None = None,
                ahead_days: int | None = None, max_rows: int = MAX_ROWS, more: int = 0) -> str:
    """The subscribe page of a feed: its rows (as the build store keeps them) from
    `past_days` back (the feed's own window; an aggregate's also ends `ahead_days` ahead), the
    first `max_rows` of them in due order, and how many more there are (`more`: rows of the
    window after those given, which the caller did not load)."""
    options = options or FeedOptions()
    past_days = options.past_days if past_days is None else past_days
    lang = options.lang if options.lang in PAGE_TEXT else "en"
    text = PAGE_TEXT[lang]
    webcal = "webcal://" + feed_url.split("://", 1)[1]
    google = "https://calendar.google.com/calendar/render?cid=" + quote(webcal, safe="")
    esc = html.escape
    several = len({item.get("contract") for item in items}) > 1
    owned = any(item.get("owner") for item in items)  # an Owner column only when someone is
    since = window_start(as_of, past_days)
    rows: list[str] = []
    left_out = more
    for item in sorted(items, key=lambda e: (e.get("sort", 0), e.get("uid", ""))):
        if int(item.get("sort", 0)) < since:
            continue
        if len(rows) >= max_rows:
            left_out += 1
            continue
        title = str(item.get("title", ""))
        if several:
            title = f"{title} - {item.get('contract_name', '')}"
        status_key = str(item.get("status", ""))
        status = text.get(f"status.{status_key}", status_key)
        who = str(item.get("actor", ""))  # the party's label, from the rulebook
        rows.append(
            f'<tr class="{esc(status_key)}"><td data-label="{esc(text["due"])}" class="due">'
            f"{esc(str(item.get('due', '')))}</td>"
            f'<td data-label="{esc(text["deadline"])}">{esc(title)}</td>'
            f'<td data-label="{esc(text["status"])}" class="status">{esc(status)}</td>'
            f'<td data-label="{esc(text["who"])}">{esc(who)}</td>'
            f'<td data-label="{esc(text["clause"])}">{esc(str(item.get("clause", "")))}</td>'
            + (f'<td data-label="{esc(text["owner"])}">{esc(str(item.get("owner", "")))}</td>'
               if owned else "")
            + "</tr>"
        )
    window = text["window"].format(days=past_days) if ahead_days is None else \
        text["window.aggregate"].format(days=past_days, ahead=ahead_days)
    columns = ("due", "deadline", "status", "who", "clause", *(("owner",) if owned else ()))
    table = "".join(rows) or \
        f'<tr><td colspan="{len(columns)}">{esc(text["empty"])}</td></tr>'
    more_note = f'<p class="note" id="rows-left-out">{esc(text["more"].format(count=left_out))}' \
        "</p>\n" if left_out else ""
    heads = "".join(f"<th>{esc(text[k])}</th>" for k in columns)
    return f"""<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(name)}</title><style>{PAGE_CSS}</style></head>
<body><main>
<h1>{esc(name)}</h1>
<div class="links">
<a id="subscribe-webcal" href="{esc(webcal)}">{esc(text["subscribe"])}</a>
<a id="subscribe-google" class="secondary" href="{esc(google)}">{esc(text["google"])}</a>
<a id="subscribe-https" class="secondary" href="{esc(feed_url)}">{esc(text["url"])}</a>
</div>
<table><thead><tr>{heads}
</tr></thead><tbody>
{table}
</tbody></table>
{more_note}<p class="note">{esc(window)}
{esc(text["note"])}</p>
</main></body></html>
"""
