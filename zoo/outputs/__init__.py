"""What the zoo writes besides arrays and tables: figures (`figures`), audio (`audio`) and the file names
made from tags (`names`). Each rule lives here once; every writer writes atomically
(`musiczoo_runtime.atomic`)."""
