"""The platform's own hub code: profile definitions and workarounds for upstream bugs."""
