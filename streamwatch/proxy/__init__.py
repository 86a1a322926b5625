"""The recording proxy: any app's real Messages API traffic forwarded, watched and recorded (a source).

`ProxyApp` (app.py) is the ASGI app that forwards and records, `Flow` (flow.py) one proxied exchange.
"""
