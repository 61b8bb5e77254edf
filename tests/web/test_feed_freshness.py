"""The overview says how fresh the pulled data is ("dữ liệu cập nhật lúc …, trễ 3 phút"),
amber or red past the thresholds of the settings, and that the last pull failed."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, update

from chiso import db
from chiso.auth.permissions import command_line
from chiso.clock import local_now
from chiso.feeds import service as feeds
from chiso.feeds.models import FeedPage, SourceFeed

from tests.web.conftest import login


def test_the_overview_shows_each_feeds_freshness(client, world, monkeypatch):
    monkeypatch.setenv("CHISO_FEED_LAG_AMBER_MINUTES", "15")
    monkeypatch.setenv("CHISO_FEED_LAG_RED_MINUTES", "60")
    now = local_now()
    fresh, stale = now - timedelta(minutes=3), now - timedelta(hours=2)
    with db.transaction(world.engine) as session:
        feeds.add(session, actor=command_line(), name="mot-cua", url="http://127.0.0.1:9/feed", every="5m")
        feeds.add(session, actor=command_line(), name="dvc-cu", url="http://127.0.0.1:9/old", every="5m")
    try:
        with world.engine.begin() as conn:
            conn.execute(update(SourceFeed).where(SourceFeed.name == "mot-cua")
                         .values(watermark=fresh.strftime("%Y%m%d%H%M%S")))
            conn.execute(update(SourceFeed).where(SourceFeed.name == "dvc-cu")
                         .values(watermark=stale.strftime("%Y%m%d%H%M%S"), last_error="HTTP 500"))
        login(client, "admin")
        html = client.get("/", headers={"accept-language": "vi"}).text
        assert 'data-testid="freshness"' in html
        assert f'class="light green" data-feed="mot-cua">mot-cua: dữ liệu cập nhật lúc {fresh:%d/%m/%Y %H:%M}, trễ 3 phút' in html
        assert f'class="light red" data-feed="dvc-cu">dvc-cu: dữ liệu cập nhật lúc {stale:%d/%m/%Y %H:%M}, trễ 120 phút' in html
        assert "lần lấy gần nhất bị lỗi" in html
        monkeypatch.setenv("CHISO_FEED_LAG_RED_MINUTES", "600")
        assert 'class="light amber" data-feed="dvc-cu"' in client.get("/").text
    finally:
        with world.engine.begin() as conn:
            conn.execute(delete(FeedPage))
            conn.execute(delete(SourceFeed))
