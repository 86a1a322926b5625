"""The picker `e` opens on the run screen: which format to write the session in (streamwatch.export)."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from streamwatch.export import FORMATS


class ExportScreen(ModalScreen[str | None]):
    """The export formats, one a line; enter picks the highlighted one (its name is the result), esc none."""

    BINDINGS = [Binding("escape,q", "cancel", "Cancel", id="export.cancel")]

    def compose(self) -> ComposeResult:
        options = [Option(Text(f"{name:<7} {format.short}"), id=name) for name, format in FORMATS.items()]
        with Vertical(id="export-dialog"):
            yield Static(Text("Export to the working folder as", style="bold"))
            yield OptionList(*options, id="export-formats")
            yield Static(Text("enter write · esc cancel · sse/curl/report: last attempt", style="dim"))

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected)
    def picked(self, message: OptionList.OptionSelected) -> None:
        self.dismiss(message.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
