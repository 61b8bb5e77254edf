"""Pulling a feed from a real HTTP server on 127.0.0.1 serving national-format pages, on real
SQLite and PostgreSQL stores: pages through, later pages changing records, a 500 in the
middle, a timeout, a malformed page, a token refused, a worker killed in the middle of a
page, two workers at once. Nothing half-imported; the watermark never ahead of what was
committed; no page imported twice."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select, update

from chiso import db
from chiso.auth.permissions import Actor, command_line
from chiso.errors import ChisoError
from chiso.feeds import service
from chiso.feeds.models import FeedPage, SourceFeed
from chiso.feeds.protocol import FeedError

from feed_server import FeedServer, national

W1, W2 = "20250902120000", "20250903120000"
FAST = {"timeout": 2.0, "attempts": 2, "pause": 0.01}


def _add(engine, name: str, url: str, tmp_path: Path, **kw) -> None:
    with db.transaction(engine) as session:
        service.add(session, actor=command_line(), name=name, url=url, every="5m", key_folder=tmp_path, **kw)


def _feed(engine, name: str) -> SourceFeed:
    with db.transaction(engine) as session:
        return session.scalar(select(SourceFeed).where(SourceFeed.name == name))


def _records(store) -> dict[str, dict]:
    con = store.connect()
    try:
        cur = con.execute("SELECT dossier_id, status, finished_at, source FROM dossiers")
        return {r[0]: {"status": r[1], "finished_at": r[2], "source": r[3]} for r in cur.fetchall()}
    finally:
        con.close()


def _pages(engine, name: str) -> list[tuple[str, int, int, int]]:
    with db.transaction(engine) as session:
        feed = session.scalar(select(SourceFeed).where(SourceFeed.name == name))
        return [(p.since, p.number, p.inserted, p.updated) for p in
                session.scalars(select(FeedPage).where(FeedPage.feed_id == feed.id).order_by(FeedPage.id))]


def _two_pages(src: FeedServer, unit: str) -> None:
    src.first[""] = "p1"
    src.page("p1", [national(1, unit), national(2, unit)], next="/p2")
    # A later page changes a record of the first: dossier 1 is settled meanwhile.
    src.page("p2", [national(1, unit, status=9, finished="20250902100000"), national(3, unit)], watermark=W1)


def test_pages_through_changed_records_then_goes_on_from_the_watermark(engine, store, commune, tmp_path):
    with FeedServer() as src:
        _two_pages(src, commune)
        _add(engine, "igate", src.url, tmp_path)
        result = service.pull(engine, store, name="igate", actor=command_line(), **FAST)
        assert result == {"pages": 2, "read": 4, "inserted": 3, "updated": 1, "unchanged": 0, "rejected": 0,
                          "watermark": W1}
        rec = _records(store)
        assert sorted(rec) == ["H68-1", "H68-2", "H68-3"]
        assert rec["H68-1"]["status"] == "settled" and rec["H68-1"]["source"] == "igate"
        feed = _feed(engine, "igate")
        assert (feed.watermark, feed.failures, feed.last_error, feed.claimed_by) == (W1, 0, None, None)
        assert feed.last_success_at is not None

        # The next pull asks for what changed since the watermark, and moves it on.
        src.first[W1] = "p3"
        src.page("p3", [national(2, unit=commune, status=4)], watermark=W2)
        again = service.pull(engine, store, name="igate", actor=command_line(), **FAST)
        assert again == {"pages": 1, "read": 1, "inserted": 0, "updated": 1, "unchanged": 0, "rejected": 0,
                         "watermark": W2}
        assert src.requests[-1][:2] == ("/feed", W1)
        assert [r[1] for r in src.requests if r[0] == "/feed"] == [None, W1]
        assert _records(store)["H68-2"]["status"] == "processing"


def test_a_500_in_the_middle_keeps_the_watermark_and_the_next_pull_does_not_import_a_page_twice(
        engine, store, commune, tmp_path):
    with FeedServer() as src:
        _two_pages(src, commune)
        src.faults["p2"] = [("status", 500)] * 2  # both attempts of this pull
        _add(engine, "igate", src.url, tmp_path)
        with pytest.raises(FeedError, match="HTTP 500"):
            service.pull(engine, store, name="igate", actor=command_line(), **FAST)
        feed = _feed(engine, "igate")
        assert feed.watermark is None  # page 2 never came: not complete up to anything
        assert "HTTP 500" in feed.last_error and "1 page(s) committed" in feed.last_error
        assert feed.failures == 1 and feed.claimed_by is None
        assert feed.next_run_at.replace(tzinfo=timezone.utc) > datetime.now(timezone.utc)
        assert sorted(_records(store)) == ["H68-1", "H68-2"]  # page 1 is committed whole
        versions = len(store.versions())

        # The source recovers (one more 500, which the retry inside the pull absorbs).
        src.faults["p2"] = [("status", 503)]
        result = service.pull(engine, store, name="igate", actor=command_line(), **FAST)
        # Page 1 came again with the same content since the same watermark: not imported twice.
        assert result == {"pages": 2, "read": 2, "inserted": 1, "updated": 1, "unchanged": 0, "rejected": 0,
                          "watermark": W1}
        assert len(store.versions()) == versions + 1
        assert _pages(engine, "igate") == [("", 1, 2, 0), ("", 2, 1, 1)]
        feed = _feed(engine, "igate")
        assert (feed.watermark, feed.failures, feed.last_error) == (W1, 0, None)


def test_a_timeout_fails_the_pull_and_nothing_moves(engine, store, commune, tmp_path):
    with FeedServer() as src:
        _two_pages(src, commune)
        src.faults["p1"] = [("sleep", 1.5)]
        _add(engine, "slow", src.url, tmp_path)
        with pytest.raises(FeedError, match="did not answer within 0.5 s"):
            service.pull(engine, store, name="slow", actor=command_line(), timeout=0.5, attempts=1)
        feed = _feed(engine, "slow")
        assert feed.watermark is None and "did not answer" in feed.last_error
        assert store.versions() == [] and _records(store) == {}


def test_a_malformed_page_is_refused_and_bad_rows_are_kept_with_their_page(engine, store, commune, tmp_path):
    with FeedServer() as src:
        src.first[""] = "p1"
        src.page("p1", [national(1, commune)], next="/p2")
        src.pages["p2"] = b"<html>Service Unavailable</html>"
        _add(engine, "igate", src.url, tmp_path)
        with pytest.raises(FeedError, match="cannot be read"):
            service.pull(engine, store, name="igate", actor=command_line(), **FAST)
        assert [r[0] for r in src.requests].count("/p2") == 1  # not worth asking again
        assert _feed(engine, "igate").watermark is None

        for body, why in (({"items": "x", "next": None, "watermark": W1}, "items"),
                          ({"items": [], "next": None, "watermark": "2025-09-02"}, "watermark"),
                          ({"items": [], "next": None}, "no \"watermark\"")):
            src.page("p2", [])
            src.pages["p2"] = body
            with pytest.raises(FeedError, match=why):
                service.pull(engine, store, name="igate", actor=command_line(), **FAST)
            assert _feed(engine, "igate").watermark is None

        # Bad rows are rejected one by one and kept with the source and the page.
        src.page("p2", [national(2, commune, received="2025-13-45"), national(3, "99999"), national(4, commune)],
                 watermark=W1)
        result = service.pull(engine, store, name="igate", actor=command_line(), **FAST)
        assert (result["pages"], result["inserted"], result["rejected"], result["watermark"]) == (2, 1, 2, W1)
        with db.transaction(engine) as session:
            kept = service.rejects(session, actor=command_line(), name="igate")
        assert [(r["source"], r["page"], r["line"]) for r in kept] == [("igate", 2, 1), ("igate", 2, 2)]
        assert "NgayTiepNhan" in str(kept[0]) or "received_at" in kept[0]["reason"]
        assert "99999" in kept[1]["reason"] or "unit" in kept[1]["reason"]


def test_a_refused_token_is_an_error_and_the_token_is_never_shown(engine, store, commune, tmp_path, monkeypatch):
    with FeedServer() as src:
        _two_pages(src, commune)
        src.token = "right-token-123"
        _add(engine, "igate", src.url, tmp_path, token="wrong-token-456")
        with pytest.raises(FeedError, match="refused the token \\(HTTP 401\\)"):
            service.pull(engine, store, name="igate", actor=command_line(), **FAST)
        assert len(src.requests) == 1  # a refusal is not retried
        assert src.requests[0][2] == "Bearer wrong-token-456"
        feed = _feed(engine, "igate")
        assert "wrong-token-456" not in (feed.token_sealed or "") and feed.token_sealed.startswith("f1:")
        with db.transaction(engine) as session:
            shown = str(service.list_feeds(session, actor=command_line()))
        assert "token-456" not in shown and "'token': 'sealed'" in shown

        # The token referenced by a variable instead.
        with db.transaction(engine) as session:
            service.remove(session, actor=command_line(), name="igate")
        monkeypatch.setenv("IGATE_TOKEN", "right-token-123")
        _add(engine, "igate", src.url, tmp_path, token_env="IGATE_TOKEN")
        assert service.pull(engine, store, name="igate", actor=command_line(), **FAST)["watermark"] == W1


def test_the_sealed_token_needs_the_key(tmp_path, monkeypatch):
    from chiso.feeds import secret

    sealed = secret.seal("tok", b"k1")
    assert secret.unseal(sealed, b"k1") == "tok" and sealed != secret.seal("tok", b"k1")
    with pytest.raises(ChisoError, match="another key"):
        secret.unseal(sealed, b"k2")
    monkeypatch.setenv("CHISO_FEED_KEY", "")
    key = secret.key(tmp_path)
    assert key == secret.key(tmp_path) and (tmp_path / "feeds.key").stat().st_mode & 0o777 == 0o600


KILL = """
import os, sys
from chiso import db
from chiso.auth.permissions import command_line
from chiso.dossiers import DossierStore
from chiso.feeds import service
import chiso.dossiers.store as st

calls = []
original = st.DossierStore._commit
def commit(self, temp, final):
    calls.append(final)
    if len(calls) == 2 and sys.argv[3] == "before":
        os._exit(9)  # killed in the middle of page 2, before its records show
    original(self, temp, final)
    if len(calls) == 2 and sys.argv[3] == "after":
        os._exit(9)  # killed after page 2's records show, before the page is recorded
st.DossierStore._commit = commit
engine = db.make_engine(sys.argv[1])
service.pull(engine, DossierStore(sys.argv[2]), name="igate", actor=command_line(), worker="doomed",
             timeout=2.0, attempts=1)
"""


@pytest.mark.parametrize("when", ["before", "after"])
def test_a_worker_killed_mid_page_leaves_nothing_half_imported(engine, store, commune, tmp_path, loaded_url, when):
    with FeedServer() as src:
        _two_pages(src, commune)
        _add(engine, "igate", src.url, tmp_path)
        script = tmp_path / "kill.py"
        script.write_text(KILL)
        done = subprocess.run([sys.executable, str(script), loaded_url, str(store.root), when],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 9, done.stderr
        feed = _feed(engine, "igate")
        assert feed.watermark is None and feed.claimed_by == "doomed"
        rec = _records(store)
        if when == "before":
            assert sorted(rec) == ["H68-1", "H68-2"] and rec["H68-1"]["status"] == "received"
        else:
            assert sorted(rec) == ["H68-1", "H68-2", "H68-3"] and rec["H68-1"]["status"] == "settled"
        assert _pages(engine, "igate") == [("", 1, 2, 0)]

        # Nobody else pulls it while the dead worker's claim holds; after it runs out, one does.
        assert feed.claim_until.replace(tzinfo=timezone.utc) > datetime.now(timezone.utc) + timedelta(minutes=5)
        with pytest.raises(ChisoError, match="Another worker"):
            service.pull(engine, store, name="igate", actor=command_line(), **FAST)
        with engine.begin() as conn:  # ten minutes later
            conn.execute(update(SourceFeed).values(claim_until=datetime.now(timezone.utc) - timedelta(seconds=1)))
        result = service.pull(engine, store, name="igate", actor=command_line(), **FAST)
        expected = (1, 1) if when == "before" else (0, 0)  # after: page 2 again, which changes nothing
        assert (result["inserted"], result["updated"], result["watermark"]) == (*expected, W1)
        assert sorted(_records(store)) == ["H68-1", "H68-2", "H68-3"]
        assert _records(store)["H68-1"]["status"] == "settled"


def test_two_workers_never_pull_one_source_at_once(engine, store, commune, tmp_path):
    with FeedServer() as src:
        _two_pages(src, commune)
        src.faults["p1"] = [("sleep", 1.0)]
        _add(engine, "igate", src.url, tmp_path)
        feed_id = _feed(engine, "igate").id
        assert service.claim(engine, feed_id=feed_id, worker="a")
        assert not service.claim(engine, feed_id=feed_id, worker="b")
        with engine.begin() as conn:
            conn.execute(update(SourceFeed).values(claimed_by=None, claim_until=None))

        reports: list[dict] = []

        def work(name: str) -> None:
            reports.append(service.run_due(engine, worker=name, store=store, **FAST))

        threads = [threading.Thread(target=work, args=(w,)) for w in ("w1", "w2")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        pulled = [p for r in reports for p in r["pulled"]]
        assert len(pulled) == 1 and pulled[0]["watermark"] == W1 and pulled[0]["inserted"] == 3
        assert [r["busy"] for r in reports if not r["pulled"]] in ([["igate"]], [[]])
        assert sum(1 for r in src.requests if r[0] == "/feed") == 1

        # Not due again before its schedule.
        assert service.run_due(engine, store=store, **FAST) == {"pulled": [], "failed": [], "busy": []}
        later = datetime.now(timezone.utc) + timedelta(minutes=6)
        src.first[W1] = "p3"
        src.page("p3", [], watermark=W2)
        assert service.run_due(engine, store=store, now=later, **FAST)["pulled"][0]["watermark"] == W2


def test_only_province_wide_administrators_manage_feeds(engine, tmp_path):
    reader = Actor(name="r", role="steering", via="cli")
    with db.transaction(engine) as session:
        with pytest.raises(ChisoError):
            service.add(session, actor=reader, name="x", url="http://127.0.0.1:9/feed", every="5m")
        with pytest.raises(ChisoError, match="http"):
            service.add(session, actor=command_line(), name="x", url="file:///etc/passwd", every="5m")
        with pytest.raises(ChisoError, match="5m"):
            service.add(session, actor=command_line(), name="x", url="http://127.0.0.1:9/feed", every="often")


def test_freshness_turns_amber_then_red(engine, tmp_path, monkeypatch):
    monkeypatch.setenv("CHISO_FEED_LAG_AMBER_MINUTES", "15")
    monkeypatch.setenv("CHISO_FEED_LAG_RED_MINUTES", "60")
    feed = SourceFeed(name="x", url="http://x", every_seconds=300, failures=0, watermark="20251201100000")
    at = datetime(2025, 12, 1, 3, 3, tzinfo=timezone.utc)  # 10:03 in Hà Nội
    assert service.freshness_of(feed, at) == {"at": datetime(2025, 12, 1, 10, 0), "lag_minutes": 3,
                                              "colour": "green"}
    assert service.freshness_of(feed, at + timedelta(minutes=20))["colour"] == "amber"
    assert service.freshness_of(feed, at + timedelta(minutes=60))["colour"] == "red"
    assert service.freshness_of(SourceFeed(name="y", url="u", every_seconds=60), at)["colour"] == "no_data"


def test_the_worker_pass_pulls_the_feeds_that_are_due(engine, commune, tmp_path, monkeypatch):
    from chiso import worker
    from chiso.store.service import open_records

    # Every pull adds a segment; here one is enough for the pass to compact after pulling.
    monkeypatch.setenv("CHISO_COMPACT_AFTER_SEGMENTS", "1")
    with FeedServer() as src:
        _two_pages(src, commune)
        _add(engine, "igate", src.url, tmp_path)
        report = worker.run_pass(engine, channels=())
        assert report["feeds"]["failed"] == []
        assert [(p["source"], p["inserted"], p["watermark"]) for p in report["feeds"]["pulled"]] == [("igate", 3, W1)]
        store = open_records(engine)
        assert report["compacted"] == {"dossiers": store.snapshot().version}
        assert store.snapshot().deltas == ()
        assert sorted(_records(store)) == ["H68-1", "H68-2", "H68-3"]
        again = worker.run_pass(engine, channels=())
        assert again["feeds"]["pulled"] == [] and again["compacted"] == {}  # not due again yet
