"""streamwatch's built-in themes, installed as `streamwatch.themes`: one TOML file per theme.

Copy one into `<config folder>/themes/`, rename it and change `name`, and it joins the `t` cycle.
"""
