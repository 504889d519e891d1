"""Generators of the documentation: catalog and model pages, CLI reference, README table, gallery.

They read the manifest, the cards and the argument parsers, so the site and the README never retype them.
The site's generated pages are written at build time by `docsgen.pages` (an mkdocs-gen-files script).
"""
