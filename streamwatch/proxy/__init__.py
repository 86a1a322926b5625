"""The recording proxy: any app's real Messages API traffic forwarded, watched and recorded (a source).

`ProxyApp` (app.py) forwards and records, served by its own HTTP/1.1 server (http.py) and client
(upstream.py); `Flow` (flow.py) is one proxied exchange.
"""
