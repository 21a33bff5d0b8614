"""gunicorn settings for the kiosk (`kiosk serve`, which deploy/kiosk.service runs, passes -c).

Sized for a 2-core laptop. The access log has no client address, no time and no
query string: a log line must never link a cast to a tablet or a moment.
"""

workers = 3
threads = 1
timeout = 30
graceful_timeout = 10
accesslog = "-"
access_log_format = "%(m)s %(U)s %(s)s"
errorlog = "-"
loglevel = "warning"
