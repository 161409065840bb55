"""In the hub: NativeAuthenticator's accounts as JSON: {"count": all accounts, "rows": {username: row}}.
Rows (password hash, authorized, 2FA) only of the usernames given as argv[1] (a JSON list), or of every
account when it is null: a verify run reads no one else's."""
import json
import sqlite3
import sys

wanted = json.loads(sys.argv[1])
db = sqlite3.connect("/srv/jupyterhub/jupyterhub.sqlite")
count = db.execute("select count(*) from users_info").fetchone()[0]
query = "select username, password, is_authorized, has_2fa from users_info"
rows = db.execute(query).fetchall() if wanted is None else [
    row for name in wanted for row in db.execute(query + " where username = ?", (name,)).fetchall()]
print(json.dumps({"count": count, "rows": {
    u: {"password": p.hex() if isinstance(p, bytes) else p, "authorized": bool(a), "has_2fa": bool(t)}
    for u, p, a, t in rows}}))
