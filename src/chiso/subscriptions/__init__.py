"""Subscriptions (đăng ký nhận tin): a signed-in person follows a page or a unit and gets it
by e-mail (and the webhook) on a schedule, and an alert when a unit turns red or falls into
the last three of its group. The worker (:mod:`chiso.worker`) watches and sends."""
