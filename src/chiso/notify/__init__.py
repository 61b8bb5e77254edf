"""Sending digests: the ``digests`` table (one row per person, day and channel) and the two
channels, e-mail over SMTP and a JSON webhook. :mod:`chiso.worker` decides what to send."""
