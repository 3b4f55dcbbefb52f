"""The notifier: delivers the notification outbox to citizens on Telegram and the web chat,
and by SMS to callers the hotline filed for (when the SMS gateway is set up).

Claiming. A batch of due rows is claimed in one transaction (FOR UPDATE SKIP LOCKED on
PostgreSQL, so several notifiers share the work) by moving each row's `next_attempt_at` a
lease ahead; that exact timestamp is the claim's token, and nobody else claims the row
before the lease ends. A send made with less than half the lease left first proves, with a
conditional UPDATE on the token, that the row is still ours and extends the lease, so a
row taken over meanwhile is skipped rather than sent twice. A dead notifier's rows come
back when their lease ends.

Recording. Each row is marked in its own transaction as soon as Telegram has answered:
sent, retried with backoff, failed or unreachable. Web-chat messages are inserted in that
same transaction, so they are exactly-once.

After a hard crash. Telegram has no idempotency key, so if the process dies after
Telegram accepted a message and before that commit, the lease would bring the row back
and send it again. The journal (bot/delivery/_journal.py, `var/notifier-journal`) closes that
window: the transport writes a line as each request's body leaves for the socket and
another when the answer comes, and `recover` (run before the first claim) records as
sent every pending row whose message reached Telegram or was on its way. What remains is
a request killed while still partly in the process's own buffer: it is counted as sent
("on the wire when the notifier stopped") and never arrives. A request that timed out may
have been delivered too; it is retried like any network error. SIGTERM/SIGINT let the
sends in flight finish and hand the rest back. One notifier per var directory.

Waking. A committed row wakes the loop (storage/wakeups.py: PostgreSQL's NOTIFY, and
Redis with REDIS_URL); it still polls, every 5 s while it listens, so a lost wake only
delays, and every 0.5 s when nothing can wake it (SQLite without Redis).

Pace. Token buckets keep the overall rate (25/s by default) and at most 1/s per chat; a
429 pauses every send for `retry_after` and is not counted as a failed attempt. Logs carry
notification ids and outcomes only, never texts, chat ids or phone numbers.
"""

from bot.notifier._delivery import Notifier
from bot.notifier._options import DeliveryReport, NotifierOptions
from bot.notifier._process import deliver_once, deliver_until_stopped, make_bot, run_notifier
from bot.notifier._rate import SendRate
from bot.notifier._texts import render_text

__all__ = [
    "DeliveryReport",
    "Notifier",
    "NotifierOptions",
    "SendRate",
    "deliver_once",
    "deliver_until_stopped",
    "make_bot",
    "render_text",
    "run_notifier",
]
