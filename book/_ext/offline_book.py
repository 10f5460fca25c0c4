"""Sphinx extension: keep the built book self-contained.

Jupyter Book 1 always loads sphinx-thebe, whose configuration script is
added twice to every page (a browser reports "Identifier 'THEBE_JS_URL' has
already been declared") and which points at a CDN. The course launches
notebooks in Colab instead of Thebe, so the Thebe scripts and styles are
dropped from every page.
"""


def drop_thebe(app, pagename, templatename, context, doctree):
    context["script_files"] = [
        script
        for script in context.get("script_files", [])
        if "thebe" not in (script.filename or "") and "THEBE" not in script.attributes.get("body", "")
    ]
    context["css_files"] = [css for css in context.get("css_files", []) if "thebe" not in (css.filename or "")]


def setup(app):
    app.connect("html-page-context", drop_thebe, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
