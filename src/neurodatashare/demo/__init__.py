"""The demo datasets that `nds demo` and `nds serve --demo` write (shipped product, not a
test helper)."""
