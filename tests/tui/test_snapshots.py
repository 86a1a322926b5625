import pytest

from tests.tui.conftest import SCENES, live_app


@pytest.mark.parametrize("size", [(100, 30), (80, 24)], ids=["100x30", "80x24"])
@pytest.mark.parametrize("scene", list(SCENES))
def test_run_screen(snap_compare, scene, size):
    assert snap_compare(live_app(scene), terminal_size=size)
