"""Browser tests of the clinic page (a package so its conftest has a unique module name)."""
