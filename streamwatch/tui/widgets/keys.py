"""The key line at the bottom of a screen: the keys it offers now, as many as fit, each whole.

Textual's footer scrolls keys that do not fit under its last key, so at 80 columns a line ended in a
stray letter of a key half hidden. This one lays the keys out with `fit`: when they do not all fit,
the last ones go first, and `? Help`, which lists every key, always stays. Keys of a compact binding
group share one label (`nN Anomaly`). A click on a key presses it.
"""

from __future__ import annotations

from itertools import groupby

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.screen import Screen
from textual.widget import Widget

from streamwatch.tui.widgets.fit import fit

HELP_ACTION = "help"
_LAST = 1_000


class KeyLine(Widget):
    COMPONENT_CLASSES = {"keyline--key", "keyline--label", "keyline--disabled"}

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._spans: list[tuple[int, int, str]] = []

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen[object]) -> None:
        self.refresh()

    def items(self) -> list[tuple[str, str, str, bool]]:
        """(keys shown, label, key a click presses, enabled) for every key the screen shows, in order;
        the command palette's last (`palette_shown`)."""
        active = self.screen.active_bindings
        shown: dict[str, list[tuple[Binding, bool]]] = {}
        for _node, binding, enabled, _tooltip in active.values():
            if binding.show:
                shown.setdefault(binding.action, []).append((binding, enabled))
        items = []
        firsts = [bindings[0] for bindings in shown.values()]
        for group, members in groupby(firsts, lambda member: member[0].group):
            keys = list(members)
            if group is not None and group.compact and len(keys) > 1:
                display = "".join(self.app.get_key_display(binding) for binding, _ in keys)
                items.append((display, group.description, keys[0][0].key, any(on for _, on in keys)))
            else:
                items += [(self.app.get_key_display(b), b.description, b.key, on) for b, on in keys]
        if self.palette_shown:
            binding, enabled = active[self.app.COMMAND_PALETTE_BINDING][1:3]
            items.append((self.app.get_key_display(binding), binding.description, binding.key, enabled))
        return items

    @property
    def palette_shown(self) -> bool:
        return self.app.ENABLE_COMMAND_PALETTE and self.app.COMMAND_PALETTE_BINDING in self.screen.active_bindings

    def render(self) -> Text:
        items = self.items()
        help_keys = {b.key for _n, b, _e, _t in self.screen.active_bindings.values() if b.action == HELP_ACTION}
        palette = len(items) - 1 if self.palette_shown else None
        pieces = [
            (f"{shown} {label}", 0 if key in help_keys else _LAST if n == palette else n + 1)
            for n, (shown, label, key, _) in enumerate(items)
        ]
        kept = fit(pieces, max(0, self.size.width - 1), separator=" ")
        text = Text(" ", no_wrap=True, overflow="crop")
        self._spans = []
        for position in kept:
            shown, label, key, enabled = items[position]
            if text.cell_len > 1:
                text.append(" ")
            start = text.cell_len
            style = self.get_component_rich_style("keyline--key" if enabled else "keyline--disabled")
            text.append(shown, style=style)
            text.append(" " + label, style=self.get_component_rich_style(
                "keyline--label" if enabled else "keyline--disabled"))
            self._spans.append((start, text.cell_len, key))
        return text

    def on_click(self, event: events.Click) -> None:
        for start, end, key in self._spans:
            if start <= event.x < end:
                self.app.simulate_key(key)
                return
