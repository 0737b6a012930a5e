"""Spike alerts: mentions of entities and watch-list keywords counted per window, each term compared
with its own recent baseline (see docs/alerts.md).

`terms` finds what an enriched article mentions, `detector` decides per closed window (pure),
`tracker` keeps the open windows and closes them at the watermark; the live faust worker (`app`)
and the offline `replay` drive the same tracker.
"""
