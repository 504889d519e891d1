"""The one rule that turns a tag (or a layer name) into part of a file name, shared by the command line and the report."""


def safe_name(name):
    """`name` with every character other than a letter, a digit, `-` or `_` replaced by `_`.

    Letters and digits of any script are kept ("café" stays "café"); a slash, a space, a dot or a
    quote becomes `_`, so the result is one part of a dotted file name, with no folder separator
    and nothing a shell would split.

    Example: `safe_name("female vocal/s")` is `"female_vocal_s"`.
    """
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in str(name))
