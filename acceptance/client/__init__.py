"""The client side: the hub's forms and routes (hub_protocol.py, which the load stage speaks too), the hub's
REST API (hub_api.py), browser pages (pages/), user servers (servers.py), which app
answers (app_signatures.py), one-time codes (totp.py) and polling with a deadline (polling.py)."""
