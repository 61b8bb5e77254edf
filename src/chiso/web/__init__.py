"""The web application: server-rendered pages, the HTTP API v1 and the live event stream.

Everything the browser loads comes from chiso itself (``static/``); no page asks any other
host for anything, since provincial networks are often closed.
"""
