"""Owners: `owner:` on the contract and `owners: {rule: owner}` per rule. A deadline's owner is
shown in `status` (and `--owner` keeps one owner's deadlines), in `explain` for a contract's
log, in the feeds' descriptions and on the subscribe page, and receives its alerts.

The contract: the shipped example, Acme's FreshHawk Enterprise subscription, owned by Dana in
legal, with the support updates handed to the support desk and the data deletion to the privacy
team. As of 26 November 2026 the incident report (due 23 November) and the first hourly
support update (25 November 11:05 Paris) are missed; the deletion is due on 1 December.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

import pytest
from click.testing import CliRunner
from mailkit import smtp_server

from deadlines import api
from deadlines.cli import cli
from deadlines.notify import Message, NotifyState, notify

ROOT = Path(__file__).resolve().parent.parent
OWNERS = """\
  owner: Dana Legal <dana@example.org>
  owners:
    support-update: Support Desk <support@example.org>
    deletion: '"Privacy, Team" <privacy@example.org>'
"""
AS_OF = "2026-11-26"


@pytest.fixture
def events(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    shutil.copytree(ROOT / "events", tmp_path / "events")
    log = tmp_path / "events" / "acme-freshhawk.yaml"
    text = log.read_text(encoding="utf-8")
    log.write_text(text.replace("  reminders: [7d, 1d]", OWNERS + "  reminders: [7d, 1d]"),
                   encoding="utf-8")
    return tmp_path / "events"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), prog_name="deadlines")
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.stdout, result.stderr


def test_status_names_the_contract_owner_and_each_other_owner(events: Path) -> None:
    code, out, _ = run("status", "--as-of", AS_OF)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == ("Acme - FreshHawk Enterprise (acme-freshhawk, freshhawk-enterprise); "
                        "owner Dana Legal <dana@example.org>")
    support = lines.index(next(x for x in lines if "support-update (major)" in x))
    assert lines[support + 1].strip() == "owner: Support Desk <support@example.org>"
    deletion = lines.index(next(x for x in lines if " deletion " in x))
    assert lines[deletion + 1].strip() == 'owner: "Privacy, Team" <privacy@example.org>'


def test_status_for_one_owner(events: Path) -> None:
    code, out, _ = run("status", "--as-of", AS_OF, "--owner", "Support@Example.org",
                       "--format", "json")
    assert code == 0
    assert [(r["rule"], r["owner"]) for r in json.loads(out)] == [
        ("support-update", "Support Desk <support@example.org>")]
    code, out, _ = run("status", "--as-of", AS_OF, "--owner", "dana@example.org",
                       "--format", "csv")
    assert [line.split(",")[1] for line in out.splitlines()[1:]] == [
        "firewall-review", "incident-report", "maintenance-notice"]
    code, _, err = run("status", "--owner", "dana")
    assert code == 2
    assert err == ("deadlines: error: --owner: 'dana' is not a name and an e-mail address such "
                   "as 'Dana Legal <dana@example.org>'\n")


def test_explain_for_a_contract_says_who_owns_the_rule(events: Path) -> None:
    code, out, _ = run("explain", "events/acme-freshhawk.yaml", "support_request",
                       "2026-12-01T10:00", "--severity", "major", "--rule", "support-update")
    assert code == 0
    assert "  Owner: Support Desk <support@example.org>\n" in out
    assert "Due: 2026-12-01T11:00:00+01:00" in out  # the contract's zone, Europe/Paris
    code, out, _ = run("compute", "events/acme-freshhawk.yaml", "breach_notice", "2026-03-02",
                       "--format", "json")
    assert json.loads(out)["deadlines"][0]["owner"] == "Dana Legal <dana@example.org>"


def test_every_feed_entry_names_its_owner(events: Path) -> None:
    api.build("events", "feeds", as_of=api.parse_as_of(AS_OF))
    feed = (events.parent / "feeds" / "contracts" / "acme-freshhawk.ics").read_bytes().decode(
        "utf-8").replace("\r\n ", "")  # lines unfolded
    assert feed.count("\\nOwner: ") == feed.count("BEGIN:VEVENT")
    assert "\\nOwner: Support Desk <support@example.org>\\n" in feed
    assert "ORGANIZER" not in feed and "ATTENDEE" not in feed


def test_the_subscribe_page_has_an_owner_column(events: Path) -> None:
    from deadlines.build import build
    from deadlines.server import render_page
    from deadlines.store import StoreReader

    build("events", "feeds", datetime(2026, 11, 26, 12, tzinfo=UTC))
    found = StoreReader(Path("feeds")).contract_page("acme-freshhawk")
    assert found is not None
    page = render_page(found[0], found[1], "https://example.org/t/x.ics",
                       datetime(2026, 11, 26, 12, tzinfo=UTC))
    assert "<th>Owner</th>" in page
    assert '<td data-label="Owner">&quot;Privacy, Team&quot; &lt;privacy@example.org&gt;</td>' \
        in page


def test_one_message_per_owner_with_only_their_deadlines(events: Path) -> None:
    with smtp_server() as server:
        code, _, _ = run("notify", "--as-of", AS_OF, "--smtp", server.address,
                         "--from", "deadlines@example.org")
        assert code == 0
        assert run("notify", "--as-of", AS_OF, "--smtp", server.address,
                   "--from", "deadlines@example.org") == (0, "", "")
    assert sorted(rcpt for _, [rcpt] in server.envelopes) == [
        "dana@example.org", "privacy@example.org", "support@example.org"]
    [dana] = server.to("dana@example.org")
    assert dana["To"] == "Dana Legal <dana@example.org>"
    assert dana["Subject"] == "Deadlines: 2 missed - Acme - FreshHawk Enterprise"
    [support] = server.to("support@example.org")
    text = str(support.get_body(("plain",)).get_content())  # type: ignore[union-attr]
    assert "MISSED: Hourly updates on a major-impact problem" in text
    assert "incident-report" not in text and "deletion" not in text
    [privacy] = server.to("privacy@example.org")
    assert privacy["To"] == '"Privacy, Team" <privacy@example.org>'


def test_a_deadline_handed_to_another_owner_goes_to_them(events: Path) -> None:
    with smtp_server() as server:
        args = ("notify", "--as-of", AS_OF, "--smtp", server.address, "--from",
                "deadlines@example.org")
        run(*args)
        log = events / "acme-freshhawk.yaml"
        log.write_text(log.read_text(encoding="utf-8").replace(
            "support-update: Support Desk <support@example.org>",
            "support-update: Night Desk <night@example.org>"), encoding="utf-8")
        assert run(*args)[0] == 0
    assert [rcpt for _, [rcpt] in server.envelopes][3:] == ["night@example.org"]


def test_a_run_killed_between_two_owners_resends_nothing_already_accepted(
        events: Path) -> None:
    """Each accepted message is recorded before the next is sent: a run killed after the
    first message leaves it recorded, and the next run sends only the others."""

    class DiesOnSecond:
        name = "mail"
        sent: ClassVar[list[str]] = []

        def describe(self) -> str:
            return "a channel that dies"

        def send(self, message: Message) -> None:
            if len(self.sent) == 1:
                raise KeyboardInterrupt  # kill -INT in the middle of the run
            self.sent.append(message.recipient)

        def close(self) -> None:
            pass

    class Records(DiesOnSecond):
        sent: ClassVar[list[str]] = []

        def send(self, message: Message) -> None:
            self.sent.append(message.recipient)

    as_of = datetime(2026, 11, 26, 12, tzinfo=UTC)
    with pytest.raises(KeyboardInterrupt):
        notify("events", "feeds", as_of=as_of, channels=[DiesOnSecond()])
    assert DiesOnSecond.sent == ["dana@example.org"]
    state = NotifyState.load(events.parent / "feeds", ["mail"])
    assert list(state.sent) == [("mail", "dana@example.org")]
    report = notify("events", "feeds", as_of=as_of, channels=[Records()])
    assert Records.sent == ["privacy@example.org", "support@example.org"]
    assert report.failures == []


@pytest.mark.parametrize(("line", "error"), [
    ("  owner: Dana Legal\n",
     "acme-freshhawk.yaml:11: contract.owner: 'Dana Legal' is not a name and an e-mail address"),
    ("  owners: {refund: support@example.org}\n",
     "acme-freshhawk.yaml:11: contract.owners.refund: no rule 'refund' in freshhawk-enterprise"),
])
def test_a_bad_owner_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, line: str,
                                 error: str) -> None:
    monkeypatch.chdir(tmp_path)
    shutil.copytree(ROOT / "events", tmp_path / "events")
    log = tmp_path / "events" / "acme-freshhawk.yaml"
    log.write_text(log.read_text(encoding="utf-8").replace(
        "  name: Acme - FreshHawk Enterprise\n", "  name: Acme - FreshHawk Enterprise\n" + line),
        encoding="utf-8")
    code, _, err = run("status")
    assert code == 2 and len(err.splitlines()) == 1
    assert error in err, err


def test_import_reads_an_owner_column(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "contracts.csv").write_text(
        "id,agreement,start,owner\n"
        'acme,aircall,2026-02-01,"""Legal, Team"" <legal@example.org>"\n'
        "kiwi,zuper,2026-02-01,Dana <dana@example.org>\n", encoding="utf-8")
    from deadlines.eventlog import load

    assert run("import", "contracts.csv")[0] == 0
    assert str(load(tmp_path / "events" / "acme.yaml").contract.owners.default) == \
        '"Legal, Team" <legal@example.org>'
    (tmp_path / "contracts.csv").write_text("id,agreement,start,owner\n"
                                            "beta,aircall,2026-02-01,legal team\n",
                                            encoding="utf-8")
    code, _, err = run("import", "contracts.csv")
    assert code == 2
    assert err == ("deadlines: error: contracts.csv:2: owner: 'legal team' is not a name and an "
                   "e-mail address such as 'Dana Legal <dana@example.org>'\n")


def test_build_writes_one_feed_per_owner(events: Path) -> None:
    code, out, _ = run("build", "--as-of", AS_OF, "-v")
    assert code == 0
    assert "  wrote feeds/owners/dana@example.org.ics\n" in out
    owners = events.parent / "feeds" / "owners"
    assert sorted(p.name for p in owners.iterdir()) == [
        "dana@example.org.ics", "privacy@example.org.ics", "support@example.org.ics"]
    support = (owners / "support@example.org.ics").read_bytes().decode("utf-8")
    assert "X-WR-CALNAME:Deadlines owned by Support Desk <support@example.org>" in support
    assert support.count("BEGIN:VEVENT") == 1 and "SUMMARY:[MISSED] Hourly updates" in support
    dana = (owners / "dana@example.org.ics").read_bytes().decode("utf-8")
    assert "Hourly updates" not in dana and "Incident report" in dana.replace("\r\n ", "")


def test_an_owners_feed_holds_what_the_aggregates_hold(events: Path) -> None:
    """Dana owns every rule of the contract that is not handed to someone else, the monthly
    uptime periods (limits) included; her feed, like all.ics, holds only obligations and
    rights, while the contract's own feed keeps the limits too."""
    run("build", "--as-of", AS_OF)
    feeds = events.parent / "feeds"
    contract = (feeds / "contracts" / "acme-freshhawk.ics").read_text(encoding="utf-8")
    dana = (feeds / "owners" / "dana@example.org.ics").read_bytes().decode("utf-8")
    assert ",limit," in contract
    assert ",limit," not in dana and dana.count("BEGIN:VEVENT") == 5
    # the description says what it holds
    assert "This feed holds the obligations and rights" in dana.replace("\r\n ", "")


def test_an_owner_no_log_names_any_more_sees_their_deadlines_cancelled_then_removed(
        events: Path) -> None:
    run("build", "--as-of", AS_OF)
    log = events / "acme-freshhawk.yaml"
    log.write_text(log.read_text(encoding="utf-8").replace(
        "    support-update: Support Desk <support@example.org>\n", ""), encoding="utf-8")
    _, out, _ = run("build", "--as-of", AS_OF, "-v")
    feed = events.parent / "feeds" / "owners" / "support@example.org.ics"
    assert "owner support@example.org: no log names them any more; its feed " \
        "feeds/owners/support@example.org.ics now shows every deadline cancelled" in out
    assert b"STATUS:CANCELLED" in feed.read_bytes()
    _, out, _ = run("build", "--as-of", "2026-12-11", "-v")
    assert "owner support@example.org: grace period over" in out and not feed.exists()


def test_a_token_can_open_one_owners_feed(events: Path) -> None:
    from serverkit import call

    from deadlines.server import FeedServer
    from deadlines.tokens import TokenStore

    code, out, _ = run("token", "create", "owner:Support@Example.org", "--tokens", "t.json")
    assert code == 0 and out.startswith("token ") and " for owner:support@example.org: " in out
    secret = out.split(": ", 1)[1].split()[0]
    assert TokenStore.load("t.json").lookup(secret) is not None
    app = FeedServer(events, events.parent / "feeds", events.parent / "t.json",
                     log=lambda line: None, clock=lambda: datetime(2026, 11, 26, 12, tzinfo=UTC))
    status, _, body = call(app, f"/{secret}/deadlines.ics")
    assert status == "200 OK"
    assert body.count(b"BEGIN:VEVENT") == 1 and b"Hourly updates" in body
    status, _, page = call(app, f"/{secret}/")
    assert b"Deadlines owned by Support Desk" in page
    code, _, err = run("token", "create", "owner:support", "--tokens", "t.json")
    assert code == 2 and "<owner's address>" in err
