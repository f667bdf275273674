"""`deadlines notify`: each owner hears once per stage, through a real SMTP server (aiosmtpd) or
a real HTTP webhook receiver, both on loopback and started by the test.

The contract: Kiwi Bakery's FreshHawk standard subscription (Melbourne). The customer's written
breach notice of 2 March 2026 starts the 30-day cure period (clause 8.5), due by the end of
Wednesday 1 April 2026 in Melbourne; an Incident identified on 30 March 2026 at 10:00 must be
notified within 24 hours (Annexe A (ii)): by 31 March 10:00 Melbourne, 30 March 23:00 UTC.
"""

from __future__ import annotations

import json
from email.message import EmailMessage
from pathlib import Path

import pytest
from click.testing import CliRunner
from mailkit import self_signed, smtp_server, webhook_server

from deadlines.cli import cli
from deadlines.notify import NOTIFY_FOLDER, is_loopback, parse_host_port

LOG = """\
# Kiwi Bakery: the quarterly review done, then a breach notice
contract:
  id: kiwi
  agreement: freshhawk-standard
  start: 2026-02-01
  name: Kiwi Bakery
events:
  - type: done
    rule: firewall-review
    at: 2026-03-10
  - id: breach-1
    type: breach_notice
    at: {breach}
"""
CURE_7D = "2026-03-26"  # cure (due 1 April) is 6 days away: within 7 days
CURE_1D = "2026-03-31T14:00"  # 1 April 01:00 in Melbourne: within 1 day
CURE_MISSED = "2026-04-02"
TEAM = "legal@example.org"


@pytest.fixture
def events(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy",
                 "ALL_PROXY", "DEADLINES_SMTP_USER", "DEADLINES_SMTP_PASSWORD",
                 "DEADLINES_WEBHOOK_URL"):
        monkeypatch.delenv(name, raising=False)
    folder = tmp_path / "events"
    folder.mkdir()
    (folder / "kiwi.yaml").write_text(LOG.format(breach="2026-03-02"), encoding="utf-8")
    return folder


def notify(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["notify", "events", *args], prog_name="deadlines")
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.stdout, result.stderr


def by_mail(server_address: str, as_of: str, *more: str) -> tuple[int, str, str]:
    return notify("--as-of", as_of, "--smtp", server_address,
                  "--from", "Deadlines <deadlines@example.org>", "--to", TEAM, *more)


def text_of(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def html_of(message: EmailMessage) -> str:
    part = message.get_body(("html",))
    assert part is not None
    return str(part.get_content())


def test_an_alert_says_when_what_where_and_how_to_close_it(events: Path) -> None:
    with smtp_server() as server:
        code, out, err = by_mail(server.address, CURE_7D)
    assert (code, out, err) == (0, "", "")  # quiet on success, for cron
    [message] = server.messages
    assert server.envelopes == [("deadlines@example.org", [TEAM])]
    assert message["Subject"] == "Deadlines: 1 due within 7 days - Kiwi Bakery"
    assert message["Auto-Submitted"] == "auto-generated"
    text = text_of(message)
    assert ("due within 7 days: Cure period after the customer's written breach notice - "
            "Kiwi Bakery (kiwi, cure)") in text
    assert "Due: 2026-04-01, by the end of Wednesday 1 April 2026 (Australia/Melbourne)" in text
    assert "What: Remedy the breach described in the customer's written notice." in text
    assert "Who must act: the provider (the counterparty)" in text
    assert "Clause: freshhawk-standard 8.5" in text
    assert "When done, record it: deadlines record events/kiwi.yaml breach_cured --ref breach-1" \
        in text
    assert "No owner is named for them" in text  # it came to --to
    html = html_of(message)
    assert "<code>deadlines record events/kiwi.yaml breach_cured --ref breach-1</code>" in html
    assert "Cure period after the customer&#x27;s written breach notice" in html


def test_each_stage_goes_out_once(events: Path) -> None:
    with smtp_server() as server:
        assert by_mail(server.address, CURE_7D)[0] == 0
        assert by_mail(server.address, CURE_7D)[0] == 0  # the same run again: nothing new
        assert by_mail(server.address, "2026-03-28")[0] == 0  # still within 7 days
        assert len(server.messages) == 1
        assert by_mail(server.address, CURE_1D)[0] == 0  # a new stage: within 1 day
        assert by_mail(server.address, CURE_1D)[0] == 0
        assert by_mail(server.address, CURE_MISSED)[0] == 0
        assert by_mail(server.address, CURE_MISSED)[0] == 0
    subjects = [m["Subject"] for m in server.messages]
    assert subjects == ["Deadlines: 1 due within 7 days - Kiwi Bakery",
                        "Deadlines: 1 due within 1 day - Kiwi Bakery",
                        "Deadlines: 1 missed - Kiwi Bakery"]
    assert "MISSED: Cure period" in text_of(server.messages[2])


def test_recording_the_fulfilment_stops_the_alerts(events: Path) -> None:
    with smtp_server() as server:
        by_mail(server.address, CURE_7D)
        result = CliRunner().invoke(cli, ["record", "events/kiwi.yaml", "breach_cured",
                                          "--ref", "breach-1", "--at", "2026-03-27"])
        assert result.exit_code == 0, result.output
        assert by_mail(server.address, CURE_1D) == (0, "", "")
        assert by_mail(server.address, CURE_MISSED) == (0, "", "")
    assert len(server.messages) == 1


def test_a_deadline_that_moves_is_sent_again_saying_so(events: Path) -> None:
    with smtp_server() as server:
        by_mail(server.address, CURE_7D)
        # the notice's date was mistyped: it went out on 3 March, so the cure ends on 2 April
        (events / "kiwi.yaml").write_text(LOG.format(breach="2026-03-03"), encoding="utf-8")
        assert by_mail(server.address, CURE_7D)[0] == 0
        assert by_mail(server.address, CURE_7D)[0] == 0
    assert len(server.messages) == 2
    text = text_of(server.messages[1])
    assert "Due: 2026-04-02, by the end of Thursday 2 April 2026" in text
    assert "Moved: it was due 2026-04-01; it is now due 2026-04-02." in text


def test_a_refused_message_is_not_recorded_and_goes_out_on_the_next_run(events: Path) -> None:
    with smtp_server() as server:
        server.refuse_next = 1
        code, out, err = by_mail(server.address, CURE_7D)
        assert code == 1 and out == ""
        assert err == ("deadlines: error: mail to legal@example.org (1 alert(s)) not delivered: "
                       "not accepted: 451 4.3.0 Try again later; it is sent again on the next "
                       "run\n")
        assert server.messages == []
        assert by_mail(server.address, CURE_7D) == (0, "", "")
        assert by_mail(server.address, CURE_7D) == (0, "", "")
    assert len(server.messages) == 1
    assert "Cure period" in text_of(server.messages[0])


def test_an_unreachable_server_is_exit_1_and_nothing_is_recorded(events: Path) -> None:
    from mailkit import free_port

    code, _, err = by_mail(f"127.0.0.1:{free_port()}", CURE_7D)
    assert code == 1
    assert "not delivered: cannot reach the SMTP server 127.0.0.1:" in err
    assert not (events.parent / "feeds" / NOTIFY_FOLDER / "mail").exists() or not any(
        (events.parent / "feeds" / NOTIFY_FOLDER / "mail").iterdir())
    with smtp_server() as server:
        assert by_mail(server.address, CURE_7D)[0] == 0
    assert len(server.messages) == 1


def test_dry_run_prints_the_messages_and_sends_and_records_nothing(events: Path) -> None:
    with smtp_server() as server:
        code, out, _ = by_mail(server.address, CURE_7D, "--dry-run")
        assert code == 0
        assert server.messages == []
        assert not (events.parent / "feeds").exists()
        assert out.startswith("To: legal@example.org\n"
                              "Subject: Deadlines: 1 due within 7 days - Kiwi Bakery\n")
        assert "deadlines record events/kiwi.yaml breach_cured --ref breach-1" in out
        assert out.endswith("dry run: 1 message(s), 1 alert(s); nothing sent, nothing recorded\n")
        by_mail(server.address, CURE_7D)  # the real run still sends it
    assert len(server.messages) == 1


def test_hour_based_deadlines_have_a_two_hour_stage(events: Path) -> None:
    log = events / "kiwi.yaml"
    log.write_text(log.read_text(encoding="utf-8")
                   + "  - id: incident-1\n    type: incident_identified\n"
                   "    at: 2026-03-30T10:00\n", encoding="utf-8")
    with smtp_server() as server:
        by_mail(server.address, "2026-03-30T12:00")  # 30 March 23:00 Melbourne: 11 hours left
        by_mail(server.address, "2026-03-30T21:30")  # 1 hour 30 minutes left
    first, second = (text_of(m) for m in server.messages)
    assert "due within 1 day: Notify the customer within 24 hours" in first
    assert "Due: 2026-03-31 10:00 Australia/Melbourne (2026-03-30 23:00 UTC)" in first
    assert "due within 2 hours: Notify the customer within 24 hours" in second
    assert "Cure period" not in second  # already sent at its stage


def test_french(events: Path) -> None:
    with smtp_server() as server:
        by_mail(server.address, CURE_7D, "--lang", "fr")
    [message] = server.messages
    assert message["Subject"] == "Échéances : 1 dans moins de 7 jours - Kiwi Bakery"
    text = text_of(message)
    assert ("Échéance : 2026-04-01, au plus tard à la fin du mercredi 1er avril 2026 "
            "(Australia/Melbourne)") in text
    assert "Une fois fait, l'enregistrer : deadlines record events/kiwi.yaml breach_cured" in text


def test_starttls_is_used_when_offered_and_the_login_comes_from_the_environment(
        events: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cert, context = self_signed(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the client trusts this test certificate
    monkeypatch.setenv("DEADLINES_SMTP_USER", "deadlines")
    monkeypatch.setenv("DEADLINES_SMTP_PASSWORD", "s3cret")
    with smtp_server(tls=context, users={"deadlines": "s3cret"}) as server:
        assert by_mail(server.address, CURE_7D)[0] == 0
    assert server.logins == ["deadlines"]
    assert server.tls_sessions == 1 and len(server.messages) == 1


def test_starttls_is_required_off_loopback(events: Path) -> None:
    """Only a loopback server may take mail in clear text without --smtp-insecure."""
    from datetime import UTC, datetime

    from deadlines.notify import SmtpChannel
    from deadlines.notify import notify as run

    assert [is_loopback(h) for h in ("127.0.0.1", "::1", "[::1]", "localhost",
                                     "mail.example.org", "10.0.0.5")] == \
        [True, True, True, True, False, False]
    with smtp_server() as server:
        channel = SmtpChannel(server.host, server.port, "deadlines@example.org")
        channel.require_tls = True  # as for a server off loopback
        report = run("events", "feeds", as_of=datetime(2026, 3, 26, 12, tzinfo=UTC),
                     channels=[channel], fallback=TEAM)
    assert [f.reason for f in report.failures] == [
        f"the SMTP server 127.0.0.1:{server.port} does not offer STARTTLS, which is required "
        "for a server that is not on loopback (--smtp-insecure sends in clear text)"]
    assert server.messages == []


def test_a_webhook_gets_json_with_text_and_the_deadlines(events: Path) -> None:
    with webhook_server() as hook:
        assert notify("--as-of", CURE_7D, "--webhook", hook.url) == (0, "", "")
        assert notify("--as-of", CURE_7D, "--webhook", hook.url) == (0, "", "")
    [post] = hook.posts
    assert post["text"].startswith("Deadlines: 1 due within 7 days - Kiwi Bakery\n\n")
    assert "deadlines record events/kiwi.yaml breach_cured --ref breach-1" in post["text"]
    assert post["recipient"] is None  # nobody owns it: a chat channel gets it all the same
    [deadline] = post["deadlines"]
    assert {k: deadline[k] for k in ("contract", "rule", "due", "status", "stage", "clause",
                                     "record", "moved_from")} == {
        "contract": "kiwi", "rule": "cure", "due": "2026-04-01", "status": "pending",
        "stage": "7d", "clause": "8.5", "moved_from": None,
        "record": "deadlines record events/kiwi.yaml breach_cured --ref breach-1"}


@pytest.mark.parametrize("answer", [500, 302])
def test_a_webhook_that_does_not_answer_2xx_is_retried(events: Path, answer: int) -> None:
    """A redirect is not followed: urllib would turn the POST into a GET that 'succeeds'."""
    with webhook_server() as hook:
        hook.answers = [answer]
        code, _, err = notify("--as-of", CURE_7D, "--webhook", hook.url)
        assert code == 1 and f"not delivered: not accepted: HTTP {answer}" in err
        assert "secret" not in err  # the URL's path is the webhook's secret
        assert notify("--as-of", CURE_7D, "--webhook", hook.url)[0] == 0
    assert len(hook.posts) == 1


def test_deadlines_with_nobody_to_tell_are_exit_1(events: Path) -> None:
    with smtp_server() as server:
        code, _, err = notify("--as-of", CURE_7D, "--smtp", server.address,
                              "--from", "deadlines@example.org")
    assert code == 1 and server.messages == []
    assert err == ("deadlines: error: 1 alert(s) have no owner and no --to, so no e-mail: name "
                   "an owner in the contract or pass --to\n")


@pytest.mark.parametrize(("args", "message"), [
    ((), "notify needs --smtp HOST:PORT (with --from), --webhook URL or --outbox DIR, or "
         "--dry-run"),
    (("--smtp", "127.0.0.1:2525"), "--smtp needs --from"),
    (("--smtp", "127.0.0.1:99999", "--from", "d@example.org"), "is not a port number"),
    (("--smtp", "127.0.0.1", "--from", "nobody"), "--from: 'nobody' is not an e-mail address"),
    (("--webhook", "http://chat.example.org/hook"), "http:// is accepted only on loopback"),
    (("--webhook", "ftp://chat.example.org/hook"), "expected an https:// URL"),
    (("--dry-run", "--to", "legal"), "--to: 'legal' is not an e-mail address"),
])
def test_bad_options_are_one_line_and_exit_2(events: Path, args: tuple[str, ...],
                                             message: str) -> None:
    code, out, err = notify("--as-of", CURE_7D, *args)
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1 and message in err, err


def test_a_login_needs_both_variables(events: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEADLINES_SMTP_USER", "deadlines")
    code, _, err = by_mail("127.0.0.1:2525", CURE_7D)
    assert code == 2
    assert "set both DEADLINES_SMTP_USER and DEADLINES_SMTP_PASSWORD" in err


def test_host_and_port() -> None:
    assert parse_host_port("mail.example.org") == ("mail.example.org", 25)
    assert parse_host_port("mail.example.org:587") == ("mail.example.org", 587)
    assert parse_host_port("[::1]:2525") == ("::1", 2525)


def test_what_was_sent_is_kept_beside_the_feeds(events: Path) -> None:
    with smtp_server() as server:
        by_mail(server.address, CURE_7D)
    [state] = (events.parent / "feeds" / NOTIFY_FOLDER / "mail").iterdir()
    data = json.loads(state.read_text(encoding="utf-8"))
    assert data["recipient"] == TEAM
    [entry] = data["sent"].values()
    assert (entry["stage"], entry["due"], entry["key"]) == ("7d", "2026-04-01",
                                                            "kiwi/cure/breach-1")


def test_an_outbox_gets_one_mail_file_per_message(events: Path) -> None:
    """`--outbox DIR`: each message as an .eml file, for a mail system that picks files up."""
    import email
    import email.policy

    assert notify("--as-of", CURE_7D, "--outbox", "outbox", "--to", TEAM) == (0, "", "")
    assert notify("--as-of", CURE_7D, "--outbox", "outbox", "--to", TEAM) == (0, "", "")
    [path] = (events.parent / "outbox").iterdir()
    assert path.name.startswith("20260326T120000Z-") and path.suffix == ".eml"
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert message["To"] == TEAM
    assert message["Subject"] == "Deadlines: 1 due within 7 days - Kiwi Bakery"


def test_smtp_insecure_is_what_lets_a_server_off_loopback_go_without_tls() -> None:
    from deadlines.notify import SmtpChannel

    assert SmtpChannel("mail.example.org", 587, "d@example.org").require_tls
    assert not SmtpChannel("mail.example.org", 587, "d@example.org", insecure=True).require_tls
    assert not SmtpChannel("127.0.0.1", 2525, "d@example.org").require_tls


def test_two_runs_at_once_send_each_alert_once(events: Path) -> None:
    """A cron run that overlaps the previous one waits for it (`.deadlines-notify.lock`), then
    finds nothing new to send."""
    import asyncio
    import threading
    from datetime import UTC, datetime

    from mailkit import _Handler

    from deadlines.notify import SmtpChannel
    from deadlines.notify import notify as run

    slow = _Handler.handle_DATA  # made slower: the first run holds the lock a while
    with smtp_server() as server:

        async def slow_data(self: _Handler, smtp: object, session: object, envelope: object
                            ) -> str:
            await asyncio.sleep(0.5)
            return await slow(self, smtp, session, envelope)

        _Handler.handle_DATA = slow_data  # type: ignore[method-assign]
        try:
            as_of = datetime(2026, 3, 26, 12, tzinfo=UTC)
            threads = [threading.Thread(target=run, args=("events", "feeds"), kwargs={
                "as_of": as_of, "fallback": TEAM,
                "channels": [SmtpChannel(server.host, server.port, "d@example.org")]})
                for _ in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        finally:
            _Handler.handle_DATA = slow  # type: ignore[method-assign]
    assert len(server.messages) == 1
