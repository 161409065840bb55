#!/bin/sh
# In an image: the paths of any file named as the hub's secrets (on the root file system); never fails.
find / -xdev \( -name jupyterhub_cookie_secret -o -name proxy_auth_token \) -print 2>/dev/null
true
