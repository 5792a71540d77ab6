"""The HTTP door: the same services, queries and policy gate as the command line, over HTTP.

`engine.api.app.create_app` puts the server together: the kernel's routes (health, tokens,
audit, workbooks) and a router from each module switched on (`registry.api`). Each route
parses the request, calls a service or query with the token's user, and renders JSON; no
rule and no field policy lives here. Refusals are RFC 9457 problem details carrying the
module contract's structured problems (`engine.api.problems`).
"""
